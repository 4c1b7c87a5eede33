#!/usr/bin/env bash
# A container removed behind jobq's back makes its job `lost`, with a reason,
# and frees its slot for the next job.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create one --image "$TEST_IMAGE" --max-running 1 >/dev/null
first=$(enq one -- sleep 60)
second=$(enq one -- sh -c 'exit 0')
wait_state "$first" running
assert_eq pending "$(job_field "$second" .state)" "second job waits for the slot"
docker rm -f "$(job_field "$first" '.attempts[0].container_name')" >/dev/null
rc=0; "$JOBQ" wait --timeout 30s "$first" || rc=$?
assert_eq 125 "$rc" "wait on a lost job"
assert_eq lost "$(job_field "$first" .state)" "state"
job_field "$first" .reason | grep -q "disappeared" || fail "reason: $(job_field "$first" .reason)"
rc=0; "$JOBQ" wait --timeout 30s "$second" || rc=$?
assert_eq 0 "$rc" "the next job got the freed slot"
echo "PASS"
