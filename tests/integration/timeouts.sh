#!/usr/bin/env bash
# Timeouts: a job past its time is stopped (SIGTERM, grace, SIGKILL) and
# recorded as timed_out; the deadline counts from Docker's StartedAt, so it is
# enforced across a jobqd restart; a job may not ask for more than its
# application allows; a job done in time keeps its own result.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create t --image "$TEST_IMAGE" --timeout 10s >/dev/null
assert_eq 10000 "$("$JOBQ" app show t --json | jq .app.timeout_ms)" "application timeout"

slow=$(enq t --timeout 1s -- sleep 60)
rc=0; "$JOBQ" wait --timeout 30s "$slow" || rc=$?
assert_eq 125 "$rc" "jobq wait on a timed-out job"
assert_eq timed_out "$(job_field "$slow" .state)" "state"
job_field "$slow" .reason | grep -q "timeout of 1000 ms" || fail "reason: $(job_field "$slow" .reason)"
ran=$(($(to_ns "$(job_field "$slow" .finished_at)") - $(to_ns "$(job_field "$slow" .started_at)")))
((ran >= 1000000000 && ran < 8000000000)) || fail "the job ran $((ran / 1000000)) ms against a 1 s timeout (+2 s grace)"

quick=$(enq t --timeout 5s -- sh -c 'exit 0')
rc=0; "$JOBQ" wait --timeout 30s "$quick" || rc=$?
assert_eq 0 "$rc" "a job done in time"
rc=0; enq t --timeout 1h -- true 2>/dev/null || rc=$?
assert_eq 1 "$rc" "a job asking for more than its application's timeout"

# Across a restart: jobqd is down when the deadline passes.
across=$(enq t --timeout 3s -- sleep 60)
wait_state "$across" running
stop_daemon
sleep 4
start_daemon
rc=0; "$JOBQ" wait --timeout 30s "$across" || rc=$?
assert_eq timed_out "$(job_field "$across" .state)" "state of a job whose deadline passed while jobqd was down"
echo "PASS"
