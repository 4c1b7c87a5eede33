#!/usr/bin/env bash
# Live logs: `jobq logs -f` streams a running job's output as it is written
# (from the engine), follows it through a retry, and exits when the job ends;
# on a finished job it shows the stored output. --tail, --since and
# --timestamps work on live and stored output alike.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create l --image "$TEST_IMAGE" --retries 1 --retry-base 100ms --retry-max 100ms >/dev/null

id=$(enq l -- sh -c 'for i in 1 2 3; do echo "line $i"; sleep 1; done; echo oops >&2')
"$JOBQ" logs -f --both "$id" >"$WORK/out" 2>"$WORK/err" &
follower=$!
for _ in $(seq 1 100); do grep -q "line 1" "$WORK/out" 2>/dev/null && break; sleep 0.05; done
grep -q "line 1" "$WORK/out" || fail "no live output after 5 s"
assert_eq running "$(job_field "$id" .state)" "the job while its first line is already shown"
kill -0 "$follower" 2>/dev/null || fail "jobq logs -f ended while the job runs"
rc=0; wait "$follower" || rc=$?
assert_eq 0 "$rc" "jobq logs -f exit status"
assert_eq "$(printf 'line 1\nline 2\nline 3')" "$(cat "$WORK/out")" "followed output"
assert_eq oops "$(cat "$WORK/err")" "followed standard error (--both)"
assert_eq succeeded "$(job_field "$id" .state)" "state once the follow ended"

# A finished job: the stored output, at once; with --tail, --timestamps, --since.
assert_eq "$(printf 'line 1\nline 2\nline 3')" "$(timeout 10 "$JOBQ" logs -f "$id")" "-f on a finished job"
assert_eq "$(printf 'line 2\nline 3')" "$("$JOBQ" logs --tail 2 "$id")" "--tail 2"
"$JOBQ" logs --timestamps "$id" >"$WORK/ts"
assert_eq 3 "$(grep -cE '^20[0-9-]+T[0-9:.]+Z line [123]$' "$WORK/ts")" "lines with timestamps"
third=$(sed -n 3p "$WORK/ts" | cut -d' ' -f1)
assert_eq "line 3" "$("$JOBQ" logs --since "$third" "$id")" "--since the third line's time"
assert_eq "" "$("$JOBQ" logs --since 1s "$id")" "--since a second ago, on output older than that"

# Live with --tail: the engine sends only the last lines written so far.
slow=$(enq l -- sh -c 'echo a; echo b; echo c; sleep 2; echo d')
wait_state "$slow" running
sleep 0.5
assert_eq "$(printf 'c\nd')" "$(timeout 20 "$JOBQ" logs -f --tail 1 "$slow")" "-f --tail 1 on a running job"

# Through a retry: both attempts' output, in order, the second announced.
retried=$(enq l -- sh -c 'echo "try $JOBQ_ATTEMPT"; sleep 3; [ "$JOBQ_ATTEMPT" -ge 2 ]')
wait_state "$retried" running
timeout 30 "$JOBQ" logs -f "$retried" >"$WORK/retry.out" 2>"$WORK/retry.err"
assert_eq "$(printf 'try 1\ntry 2')" "$(cat "$WORK/retry.out")" "output followed through a retry"
grep -q "attempt 2" "$WORK/retry.err" || fail "the second attempt was not announced: $(cat "$WORK/retry.err")"

# A pending job: the follow waits for it to start.
held=$(enq l --delay 1s -- echo later)
assert_eq later "$(timeout 30 "$JOBQ" logs -f "$held")" "-f on a job that starts later"

# A follower that goes away costs nothing; jobqd serves on.
long=$(enq l -- sh -c 'while true; do echo tick; sleep 0.1; done')
wait_state "$long" running
"$JOBQ" logs -f "$long" >/dev/null &
follower=$!
sleep 1
kill "$follower"
wait "$follower" 2>/dev/null || true
"$JOBQ" status >/dev/null || fail "jobqd does not answer after a follower left"
"$JOBQ" cancel "$long" >/dev/null
rc=0; "$JOBQ" logs --both "$id" >/dev/null 2>&1 || rc=$?
assert_eq 0 "$rc" "--both without -f"
echo "PASS"
