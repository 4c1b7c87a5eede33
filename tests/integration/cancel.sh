#!/usr/bin/env bash
# Cancelling a pending job means it never starts; cancelling a running one
# stops its container and records the job as cancelled.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create one --image "$TEST_IMAGE" --max-running 1 >/dev/null

running=$(enq one -- sleep 60)
pending=$(enq one -- sh -c 'echo should never run')
for _ in $(seq 1 100); do
  [[ $(job_field "$running" .state) == running ]] && break
  sleep 0.1
done
assert_eq running "$(job_field "$running" .state)" "first job running"
assert_eq pending "$(job_field "$pending" .state)" "second job waits for the slot"

"$JOBQ" cancel "$pending" >/dev/null
assert_eq cancelled "$(job_field "$pending" .state)" "cancelled pending job"
assert_eq 0 "$(job_field "$pending" '.attempts | length')" "attempts of a job cancelled while pending"

start=$(date +%s)
"$JOBQ" cancel "$running" >/dev/null
elapsed=$(($(date +%s) - start))
assert_eq cancelled "$(job_field "$running" .state)" "cancelled running job"
((elapsed < 20)) || fail "cancel took ${elapsed}s"
rc=0; "$JOBQ" wait "$running" || rc=$?
assert_eq 125 "$rc" "wait on a cancelled job"
rc=0; "$JOBQ" cancel "$running" 2>/dev/null || rc=$?
assert_eq 1 "$rc" "cancel of a finished job"

# The slot is free again and the cancelled pending job never ran.
after=$(enq one -- sh -c 'exit 0')
"$JOBQ" wait --timeout 60s "$after"
assert_eq "" "$(docker ps -aq --filter "label=jobq.job=$pending" --filter "label=jobq-test-run=$RUN_ID")" "container of the cancelled pending job"
echo "PASS"
