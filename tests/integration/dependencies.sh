#!/usr/bin/env bash
# Dependencies: --after starts a job only when all of its dependencies
# succeeded and skips it, with the reason, when one did not (in cascade along
# a chain); --after-any waits for them to end, however they end. A missing or
# cyclic dependency is refused at enqueue and nothing is enqueued.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create d --image "$TEST_IMAGE" >/dev/null

# A -> B -> C, and B fails: C ends skipped, naming B.
# A runs long enough for the two looks at B below, also under a sanitizer.
a=$(enq d -- sh -c 'sleep 4; echo a')
b=$(enq d --after "$a" -- sh -c 'exit 4')
c=$(enq d --after "$b" -- true)
assert_eq pending "$(job_field "$b" .state)" "B while A runs"
assert_eq 1 "$(job_field "$b" .waiting_on)" "B waits on one job"
rc=0; "$JOBQ" wait --timeout 60s "$c" || rc=$?
assert_eq 125 "$rc" "jobq wait on a skipped job (no exit code of its own)"
assert_eq skipped "$(job_field "$c" .state)" "C"
assert_eq "dependency $b failed (exit code 4)" "$(job_field "$c" .reason)" "C's reason"
assert_eq 0 "$(job_field "$c" '.attempts | length')" "C never ran"
assert_eq succeeded "$(job_field "$a" .state)" "A"
assert_eq failed "$(job_field "$b" .state)" "B"
a_end=$(to_ns "$(job_field "$a" .finished_at)")
b_start=$(to_ns "$(job_field "$b" .started_at)")
((b_start > a_end)) || fail "B started before A finished"

# A successful chain runs in order.
x=$(enq d -- sh -c 'sleep 1')
y=$(enq d --after "$x" -- true)
z=$(enq d --after "$x,$y" -- true)
rc=0; "$JOBQ" wait --timeout 60s "$z" || rc=$?
assert_eq 0 "$rc" "the end of a successful chain"
y_start=$(to_ns "$(job_field "$y" .started_at)")
x_end=$(to_ns "$(job_field "$x" .finished_at)")
z_start=$(to_ns "$(job_field "$z" .started_at)")
y_end=$(to_ns "$(job_field "$y" .finished_at)")
((y_start > x_end && z_start > y_end)) || fail "the chain did not run in order"

# --after-any runs after a failure too.
any=$(enq d --after-any "$b" -- true)
rc=0; "$JOBQ" wait --timeout 60s "$any" || rc=$?
assert_eq 0 "$rc" "--after-any on a failed job"

# A cancelled dependency skips its dependents.
long=$(enq d -- sleep 30)
dep=$(enq d --after "$long" -- true)
"$JOBQ" cancel "$long" >/dev/null
rc=0; "$JOBQ" wait --timeout 60s "$dep" || rc=$?
assert_eq skipped "$(job_field "$dep" .state)" "dependent of a cancelled job"
job_field "$dep" .reason | grep -q "dependency $long was cancelled" || fail "reason: $(job_field "$dep" .reason)"

# Refused: a missing dependency, and the job itself (the next id): nothing enqueued.
before=$("$JOBQ" list --json --limit 0 | jq '.jobs | length')
rc=0; out=$(enq d --after 999999 -- true 2>&1) || rc=$?
assert_eq 66 "$rc" "a missing dependency"
[[ $out == *"no job with id 999999"* ]] || fail "message: $out"
next=$((dep + 1))  # the id the next job would get
rc=0; out=$(enq d --after "$next" -- true 2>&1) || rc=$?
assert_eq 1 "$rc" "a job depending on itself"
[[ $out == *cycle* ]] || fail "message: $out"
assert_eq "$before" "$("$JOBQ" list --json --limit 0 | jq '.jobs | length')" "jobs after refused enqueues"
echo "PASS"
