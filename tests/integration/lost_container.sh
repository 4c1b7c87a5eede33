#!/usr/bin/env bash
# A container removed behind jobq's back makes its job `lost`, with a reason,
# and frees its slot for the next job. Removed while jobqd is down, it is gone
# without a trace: `lost`. Removed while jobqd watches (`docker rm -f` kills,
# then removes), jobqd may see the kill first: `lost` or `failed` with 137,
# both true; either way the slot is freed.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create one --image "$TEST_IMAGE" --max-running 1 >/dev/null
first=$(enq one -- sleep 60)
second=$(enq one -- sh -c 'exit 0')
wait_state "$first" running
assert_eq pending "$(job_field "$second" .state)" "second job waits for the slot"
name=$(job_field "$first" '.attempts[0].container_name')
stop_daemon
docker rm -f "$name" >/dev/null
start_daemon
rc=0; "$JOBQ" wait --timeout 30s "$first" || rc=$?
assert_eq 125 "$rc" "wait on a lost job"
assert_eq lost "$(job_field "$first" .state)" "state"
job_field "$first" .reason | grep -q "disappeared" || fail "reason: $(job_field "$first" .reason)"
rc=0; "$JOBQ" wait --timeout 30s "$second" || rc=$?
assert_eq 0 "$rc" "the next job got the freed slot"

third=$(enq one -- sleep 60)
fourth=$(enq one -- sh -c 'exit 0')
wait_state "$third" running
docker rm -f "$(job_field "$third" '.attempts[0].container_name')" >/dev/null
"$JOBQ" wait --timeout 30s "$third" >/dev/null || true
state=$(job_field "$third" .state)
if [[ $state == failed ]]; then
  assert_eq 137 "$(job_field "$third" .exit_code)" "exit code of a container killed by docker rm -f"
else
  assert_eq lost "$state" "state of a container removed while jobqd watched"
fi
rc=0; "$JOBQ" wait --timeout 30s "$fourth" || rc=$?
assert_eq 0 "$rc" "the next job got the slot freed by docker rm -f"
echo "PASS (live docker rm -f recorded as $state)"
