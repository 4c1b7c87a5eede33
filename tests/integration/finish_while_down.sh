#!/usr/bin/env bash
# A container that finishes while jobqd is stopped gets its true FinishedAt
# (Docker's, not the time jobqd noticed) once jobqd is back.
source "$(dirname "$0")/lib.sh"
start_daemon --keep-containers
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null
id=$(enq t -- sh -c 'sleep 1; exit 9')
wait_state "$id" running
stop_daemon
name=$(sqlite3 "$WORK/state/jobq.db" "SELECT container_name FROM attempts WHERE job_id=$id")
for _ in $(seq 1 100); do
  [[ $(docker inspect -f '{{.State.Status}}' "$name") == exited ]] && break
  sleep 0.1
done
sleep 2  # jobqd stays down well after the container ended
start_daemon --keep-containers
rc=0; "$JOBQ" wait --timeout 30s "$id" || rc=$?
assert_eq 9 "$rc" "exit code"
assert_eq "$(docker inspect -f '{{.State.FinishedAt}}' "$name")" "$(job_field "$id" .finished_at)" "FinishedAt"
assert_eq "$(docker inspect -f '{{.State.StartedAt}}' "$name")" "$(job_field "$id" .started_at)" "StartedAt"
# The recorded finish is Docker's: earlier than jobqd's own record of the result.
(($(to_ns "$(job_field "$id" .finished_at)") < $(to_ns "$(job_field "$id" .updated_at)") - 1000000000)) ||
  fail "FinishedAt is not the container's own time"
echo "PASS"
