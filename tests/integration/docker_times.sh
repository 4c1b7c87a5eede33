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
# Numbers beside Docker's strings: Unix ns, and the run and queue times in
# ms (never negative). jq holds numbers as doubles, so the nanoseconds are
# read from the JSON text (the first match: the attempt's, the same as the
# job's with one attempt).
exact() { "$JOBQ" show "$1" --json | grep -o "\"$2\": *-\?[0-9]*" | head -1 | grep -o -- '-\?[0-9]*$'; }
started_ns=$(exact "$id" started_ns)
finished_ns=$(exact "$id" finished_ns)
assert_eq "$(to_ns "$(job_field "$id" .started_at)")" "$started_ns" "started_ns"
assert_eq "$(to_ns "$(job_field "$id" .finished_at)")" "$finished_ns" "finished_ns"
run_ms=$(job_field "$id" .run_ms)
expect=$(( (finished_ns - started_ns) / 1000000 ))
((expect < 0)) && expect=0
assert_eq "$expect" "$run_ms" "run_ms"
((run_ms >= 200)) || fail "run_ms $run_ms: the job slept 0.3 s (Docker stamps StartedAt a little after the process began)"
assert_eq "$run_ms" "$(job_field "$id" '.attempts[0].run_ms')" "the attempt's run_ms"
[[ $(job_field "$id" .queue_ms) =~ ^[0-9]+$ ]] || fail "queue_ms is not a count of ms: $(job_field "$id" .queue_ms)"

# A running job has Docker's StartedAt as soon as it is seen running, so
# `show` prints it and `top` how long it has run.
long=$(enq t -- sleep 30)
wait_state "$long" running
lname=$(job_field "$long" '.attempts[0].container_name')
for _ in $(seq 1 50); do
  [[ $(job_field "$long" .started_at) != null ]] && break
  sleep 0.1
done
assert_eq "$(docker inspect -f '{{.State.StartedAt}}' "$lname")" "$(job_field "$long" .started_at)" "StartedAt while running"
assert_eq null "$(job_field "$long" .run_ms)" "run_ms while running"
TZ=UTC0 "$JOBQ" show "$long" | grep -E '^started: +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC$' >/dev/null ||
  fail "show prints no start time of a running job: $("$JOBQ" show "$long")"
TZ=UTC0 "$JOBQ" show "$long" | grep -E '^ran for: +[0-9.]+[a-z]+.* so far$' >/dev/null ||
  fail "show prints no run time so far: $("$JOBQ" show "$long")"
"$JOBQ" top | grep -E "^$long +t +1 +[0-9]+s +" >/dev/null ||
  fail "top's RUNNING FOR is empty: $("$JOBQ" top)"
"$JOBQ" cancel "$long" >/dev/null

# Human times: local time (TZ) with its zone; `show` adds the run and queue times.
created=$(exact "$id" created_ns)
want=$(TZ=CET-1 date -d "@$((created / 1000000000))" '+%Y-%m-%d %H:%M:%S CET')
TZ=CET-1 "$JOBQ" list | grep -F "$want" >/dev/null ||
  fail "list does not print $want in TZ=CET-1: $(TZ=CET-1 "$JOBQ" list)"
TZ=CET-1 "$JOBQ" show "$id" | grep -E "^created: +$want$" >/dev/null ||
  fail "show does not print $want: $(TZ=CET-1 "$JOBQ" show "$id")"
TZ=CET-1 "$JOBQ" show "$id" | grep -E '^ran for: +[0-9.]+(ms|s)$' >/dev/null ||
  fail "show prints no run time: $("$JOBQ" show "$id")"
TZ=CET-1 "$JOBQ" show "$id" | grep -E '^queued for: +[0-9.]+(ms|s)$' >/dev/null ||
  fail "show prints no queue time: $("$JOBQ" show "$id")"
echo "PASS"
