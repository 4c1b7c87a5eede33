#!/usr/bin/env bash
# Recorded StartedAt/FinishedAt are exactly what `docker inspect` reports for
# the container, to the nanosecond; the job sees the documented environment.
source "$(dirname "$0")/lib.sh"
start_daemon --keep-containers
"$JOBQ" app create t --image "$TEST_IMAGE" --env TZ=UTC --env COLOR=blue >/dev/null

id=$(enq t --env COLOR=red --message '{"day":"2026-11-20"}' -- sh -c 'sleep 0.3; env')
rc=0; "$JOBQ" wait "$id" || rc=$?
assert_eq 0 "$rc" "job exit code"

name=$(job_field "$id" '.attempts[0].container_name')
[[ $name == jobq-*-"$id"-1 ]] || fail "container name '$name' is not jobq-<instance>-<job>-<attempt>"
assert_eq "$(docker inspect -f '{{.State.StartedAt}}' "$name")" "$(job_field "$id" .started_at)" "StartedAt"
assert_eq "$(docker inspect -f '{{.State.FinishedAt}}' "$name")" "$(job_field "$id" .finished_at)" "FinishedAt"
assert_eq "$(docker inspect -f '{{.State.StartedAt}}' "$name")" "$(job_field "$id" '.attempts[0].started_at')" "attempt StartedAt"
assert_eq "$(docker inspect -f '{{.Id}}' "$name")" "$(job_field "$id" '.attempts[0].container_id')" "container id"
# The labels that tie a container to its job.
assert_eq "$id" "$(docker inspect -f '{{index .Config.Labels "jobq.job"}}' "$name")" "label jobq.job"
assert_eq 1 "$(docker inspect -f '{{index .Config.Labels "jobq.attempt"}}' "$name")" "label jobq.attempt"
assert_eq t "$(docker inspect -f '{{index .Config.Labels "jobq.app"}}' "$name")" "label jobq.app"

out=$("$JOBQ" logs "$id")
grep -qx "JOBQ_JOB_ID=$id" <<<"$out" || fail "JOBQ_JOB_ID missing: $out"
grep -qx "JOBQ_APP=t" <<<"$out" || fail "JOBQ_APP missing"
grep -qx "JOBQ_ATTEMPT=1" <<<"$out" || fail "JOBQ_ATTEMPT missing"
grep -qx 'JOBQ_MESSAGE={"day":"2026-11-20"}' <<<"$out" || fail "JOBQ_MESSAGE missing"
grep -qx "TZ=UTC" <<<"$out" || fail "application env missing"
grep -qx "COLOR=red" <<<"$out" || fail "job env does not override application env"
echo "PASS"
