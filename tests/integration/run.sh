#!/usr/bin/env bash
# jobq run: enqueues, streams the job's output as it is written (stdout to
# stdout, stderr to stderr, each in order, through retries) and exits with
# the job's exit code; Ctrl-C (SIGINT) off a terminal leaves the job running
# and prints its id; on a terminal (a pty from script(1)) it asks, and "y"
# cancels the job while anything else leaves it running.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create r --image "$TEST_IMAGE" >/dev/null
"$JOBQ" app create again --image "$TEST_IMAGE" --retries 1 --retry-base 100ms --retry-max 100ms \
  --retry-on exit >/dev/null
run() { "$JOBQ" run "$1" --label "jobq-test-run=$RUN_ID" "${@:2}"; }

# Each stream to its own, in order; the exit code is the job's.
rc=0
run r -- sh -c 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 7' \
  >"$WORK/out" 2>"$WORK/err" || rc=$?
assert_eq 7 "$rc" "exit code of a failed job"
assert_eq "out1 out2 out3" "$(tr '\n' ' ' <"$WORK/out" | sed 's/ $//')" "stdout, in order"
assert_eq "err1 err2 err3" "$(grep -x 'err[0-9]' "$WORK/err" | tr '\n' ' ' | sed 's/ $//')" "stderr, in order"
grep -Eq '^jobq: job [0-9]+ enqueued in r$' "$WORK/err" || fail "which job: $(cat "$WORK/err")"
rc=0
out=$(run r -q -- echo fine 2>"$WORK/err") || rc=$?
assert_eq "0 fine" "$rc $out" "a job that succeeds"
[[ ! -s $WORK/err ]] || fail "-q still says: $(cat "$WORK/err")"

# Through a retry: both attempts' output, the last attempt's exit code.
rc=0
run again -- sh -c 'echo "attempt $JOBQ_ATTEMPT"; [ "$JOBQ_ATTEMPT" -ge 2 ] || exit 5; echo done' \
  >"$WORK/out" 2>"$WORK/err" || rc=$?
assert_eq 0 "$rc" "exit code after a successful retry"
assert_eq "attempt 1,attempt 2,done" "$(paste -sd, "$WORK/out")" "output of both attempts"
grep -qx 'jobq: --- attempt 2 ---' "$WORK/err" || fail "no attempt marker: $(cat "$WORK/err")"

# Output comes as it is written, not at the end; SIGINT off a terminal
# leaves the job running, says its id, exits 130.
"$JOBQ" run r --label "jobq-test-run=$RUN_ID" -- sh -c 'echo first; sleep 60; echo never' \
  >"$WORK/out" 2>"$WORK/err" </dev/null &
pid=$!
for _ in $(seq 1 $((300 * TIME_FACTOR))); do grep -q first "$WORK/out" && break; sleep 0.1; done
grep -q first "$WORK/out" || fail "no output while the job runs: $(cat "$WORK/err")"
id=$(sed -n 's/^jobq: job \([0-9]*\) enqueued.*/\1/p' "$WORK/err")
assert_eq running "$(job_field "$id" .state)" "state while its first line is out"
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq 130 "$rc" "exit code after SIGINT"
grep -q "jobq: job $id left running" "$WORK/err" || fail "SIGINT did not say the id: $(cat "$WORK/err")"
sleep 0.5
assert_eq running "$(job_field "$id" .state)" "state after SIGINT (left running)"
"$JOBQ" cancel "$id" >/dev/null

# On a terminal: Ctrl-C asks. The pty is script(1)'s; what is written to its
# stdin is typed: ^C (the terminal sends SIGINT), then the answer.
if command -v script >/dev/null; then
  on_terminal() {  # ANSWER: runs a long job, types ^C then ANSWER; sets id and rc
    local out=$WORK/tty.out
    rm -f "$WORK/tty.in" "$out"
    mkfifo "$WORK/tty.in"
    JOBQ_SOCKET=$JOBQ_SOCKET script -qfec "$(printf '%q ' "$JOBQ" run r --label "jobq-test-run=$RUN_ID" \
      -- sh -c 'echo first; sleep 60; echo never')" /dev/null <"$WORK/tty.in" >"$out" 2>&1 &
    local spid=$!
    exec 7>"$WORK/tty.in"
    for _ in $(seq 1 $((300 * TIME_FACTOR))); do grep -q '^first' "$out" && break; sleep 0.1; done
    grep -q '^first' "$out" || fail "on a terminal, no output: $(cat -v "$out")"
    id=$(sed -n 's/^jobq: job \([0-9]*\) enqueued.*/\1/p' "$out" | tr -d '\r')
    printf '\003' >&7
    for _ in $(seq 1 100); do grep -q "cancel job $id? \[y/N\]" "$out" && break; sleep 0.1; done
    grep -q "cancel job $id? \[y/N\]" "$out" || fail "Ctrl-C on a terminal did not ask: $(cat -v "$out")"
    printf '%s\r' "$1" >&7
    rc=0
    wait "$spid" || rc=$?
    exec 7>&-
  }
  on_terminal n
  assert_eq 130 "$rc" "exit code after Ctrl-C and 'n'"
  grep -q "jobq: job $id left running" "$WORK/tty.out" || fail "'n' did not leave it: $(cat -v "$WORK/tty.out")"
  assert_eq running "$(job_field "$id" .state)" "state after Ctrl-C and 'n'"
  "$JOBQ" cancel "$id" >/dev/null
  on_terminal y
  assert_eq 130 "$rc" "exit code after Ctrl-C and 'y'"
  grep -q "jobq: job $id: cancel requested" "$WORK/tty.out" || fail "'y' did not cancel: $(cat -v "$WORK/tty.out")"
  rc=0
  "$JOBQ" wait --timeout 60s "$id" >/dev/null 2>&1 || rc=$?
  assert_eq cancelled "$(job_field "$id" .state)" "state after Ctrl-C and 'y'"
else
  echo "note: script(1) not installed, the terminal's Ctrl-C question not checked"
fi

# Bad input: an unknown application, no application.
rc=0
run nope -- true 2>/dev/null || rc=$?
assert_eq 66 "$rc" "an unknown application"
rc=0
"$JOBQ" run 2>/dev/null || rc=$?
assert_eq 64 "$rc" "no application"
echo "PASS"
