#!/usr/bin/env bash
# A container created and started for a `starting` attempt, then removed
# behind jobq's back while jobqd is down (killed right after the start call,
# JOBQD_CRASH_AT=after_start): the job is `lost`, with the reason, and its
# container is never created (nor run) again. Its id was recorded in the
# store before the start call, which is how jobqd knows it existed.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null
instance=$(instance_id)
stop_daemon

since=$(date +%s)
JOBQD_CRASH_AT=after_start start_daemon
id=$(enq t -- sh -c 'sleep 1; exit 0')
await_crash after_start
name=$(sqlite3 "$WORK/state/jobq.db" "SELECT container_name FROM attempts WHERE job_id=$id")
recorded=$(sqlite3 "$WORK/state/jobq.db" "SELECT container_id FROM attempts WHERE job_id=$id")
assert_eq starting "$(sqlite3 "$WORK/state/jobq.db" "SELECT state FROM attempts WHERE job_id=$id")" "attempt state after the crash"
assert_eq "$(docker inspect -f '{{.Id}}' "$name")" "$recorded" "container id recorded before the start"
docker rm -f "$name" >/dev/null

start_daemon
rc=0; "$JOBQ" wait --timeout 30s "$id" >/dev/null || rc=$?
assert_eq 125 "$rc" "wait on the lost job"
assert_eq lost "$(job_field "$id" .state)" "state"
job_field "$id" .reason | grep -q "removed outside jobq before its start was confirmed" ||
  fail "reason: $(job_field "$id" .reason)"
assert_eq 1 "$(job_field "$id" '.attempts | length')" "attempts"
sleep 1
assert_eq 1 "$(engine_events "$since" create "jobq.instance=$instance" "jobq.job=$id")" "containers created"
assert_eq 1 "$(engine_events "$since" start "jobq.instance=$instance" "jobq.job=$id")" "container starts"
echo "PASS ($(job_field "$id" .reason))"
