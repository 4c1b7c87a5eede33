#!/usr/bin/env bash
# Retries: a failing job is tried again as new attempts (JOBQ_ATTEMPT counts
# them) until it succeeds or the limit is reached; each attempt keeps its own
# exit code, Docker times and container; only the failure kinds named are
# retried; an enqueue may override the policy; `jobq retry` re-runs a
# finished job by hand.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create r --image "$TEST_IMAGE" --retries 3 --retry-base 200ms --retry-max 1s >/dev/null
assert_eq 3 "$("$JOBQ" app show r --json | jq .app.retry.limit)" "application retry limit"

# Fails on attempts 1 and 2, succeeds on 3: it reads JOBQ_ATTEMPT.
id=$(enq r -- sh -c 'echo "attempt $JOBQ_ATTEMPT"; [ "$JOBQ_ATTEMPT" -ge 3 ] || exit 9')
rc=0; "$JOBQ" wait --timeout 60s "$id" || rc=$?
assert_eq 0 "$rc" "jobq wait on a job that succeeded on its third attempt"
assert_eq succeeded "$(job_field "$id" .state)" "state"
assert_eq 3 "$(job_field "$id" '.attempts | length')" "attempts"
assert_eq "failed 9,failed 9,succeeded 0" \
  "$(job_jq "$id" '[.attempts[] | "\(.state) \(.exit_code)"] | join(",")')" "each attempt's own result"
assert_eq 3 "$(job_jq "$id" '[.attempts[].container_name] | unique | length')" "one container per attempt"
for n in 1 2 3; do
  assert_eq "attempt $n" "$("$JOBQ" logs --attempt "$n" "$id")" "output of attempt $n"
  started=$(job_field "$id" ".attempts[$((n - 1))].started_at")
  [[ $started == 20* ]] || fail "attempt $n has no Docker StartedAt: $started"
done
# Each retry starts after the previous attempt finished.
for n in 1 2; do
  fin=$(to_ns "$(job_field "$id" ".attempts[$((n - 1))].finished_at")")
  next=$(to_ns "$(job_field "$id" ".attempts[$n].started_at")")
  ((next > fin)) || fail "attempt $((n + 1)) started before attempt $n finished"
done

# The limit: one retry asked for at enqueue, then the job ends failed with its own code.
id2=$(enq r --retries 1 -- sh -c 'exit 7')
rc=0; "$JOBQ" wait --timeout 60s "$id2" || rc=$?
assert_eq 7 "$rc" "jobq wait exits with the last attempt's code"
assert_eq 2 "$(job_field "$id2" '.attempts | length')" "attempts with --retries 1"

# Not a kind named in --retry-on: no retry.
id3=$(enq r --retry-on oom,lost -- sh -c 'exit 3')
rc=0; "$JOBQ" wait --timeout 60s "$id3" || rc=$?
assert_eq 3 "$rc" "exit code of a job whose failure kind is not retried"
assert_eq 1 "$(job_field "$id3" '.attempts | length')" "attempts when exit is not retried"

# An engine error at launch (no such executable) is the 'launch' kind.
id4=$(enq r --retries 1 -- /no/such/program)
"$JOBQ" wait --timeout 60s "$id4" >/dev/null 2>&1 || true
assert_eq failed "$(job_field "$id4" .state)" "state after launch errors"
assert_eq 2 "$(job_field "$id4" '.attempts | length')" "a launch error is retried"
job_field "$id4" '.attempts[0].reason' | grep -q "could not start" || fail "attempt reason: $(job_field "$id4" '.attempts[0].reason')"

# A long delay: the job waits, pending, with the time of its retry in the reason.
id5=$(enq r --retries 1 --retry-base 1h --retry-max 1h -- sh -c 'exit 1')
for _ in $(seq 1 100); do
  [[ $(job_field "$id5" .retries_used) == 1 ]] && break
  sleep 0.1
done
assert_eq pending "$(job_field "$id5" .state)" "state while waiting for a retry"
job_field "$id5" .reason | grep -q "retry 1 of 1 at " || fail "reason: $(job_field "$id5" .reason)"
"$JOBQ" cancel "$id5" >/dev/null
assert_eq cancelled "$(job_field "$id5" .state)" "a job waiting for its retry can be cancelled"

# jobq retry: by hand, a finished job runs again, with a fresh budget.
rc=0; "$JOBQ" retry "$id2" >/dev/null || rc=$?
assert_eq 0 "$rc" "jobq retry of a failed job"
rc=0; "$JOBQ" wait --timeout 60s "$id2" || rc=$?
assert_eq 7 "$rc" "the retried job's exit code"
assert_eq 4 "$(job_field "$id2" '.attempts | length')" "attempts after jobq retry (2 + 1 + its retry)"
assert_eq "" "$("$JOBQ" logs --attempt 4 "$id2")" "output of attempt 4"
long=$(enq r -- sleep 30)
rc=0; "$JOBQ" retry "$long" 2>/dev/null || rc=$?
assert_eq 1 "$rc" "jobq retry of an unfinished job is refused"
"$JOBQ" cancel "$long" >/dev/null

# Bounds.
rc=0; enq r --retries 101 -- true 2>/dev/null || rc=$?
assert_eq 64 "$rc" "--retries over 100"
rc=0; enq r --retry-on sometimes -- true 2>/dev/null || rc=$?
assert_eq 1 "$rc" "an unknown failure kind"
echo "PASS"
