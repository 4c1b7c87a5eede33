#!/usr/bin/env bash
# jobqd restarting (a package upgrade at 03:00): jobq keeps trying to connect
# for --connect-timeout (30 s by default), says so on stderr, and then sends
# its request once; with too short a time it exits 69 naming how long it
# tried, and with 0 at once.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create r --image "$TEST_IMAGE" >/dev/null
stop_daemon

# jobqd comes back 2 s after the enqueue began: the job is enqueued, once.
"$JOBQ" enqueue --label "jobq-test-run=$RUN_ID" -q r true >"$WORK/enq.out" 2>"$WORK/enq.err" &
enq_pid=$!
sleep 2
start_daemon
rc=0; wait $enq_pid || rc=$?
assert_eq 0 "$rc" "an enqueue begun while jobqd was down (stderr: $(cat "$WORK/enq.err"))"
grep -q "jobqd is not answering at $JOBQ_SOCKET; trying again for up to 30 s (--connect-timeout)" \
  "$WORK/enq.err" || fail "the enqueue did not say it was waiting: $(cat "$WORK/enq.err")"
id=$(cat "$WORK/enq.out")
assert_eq "$id" "$("$JOBQ" list --json | jq -r '.jobs | map(.id) | join(",")')" "the one job enqueued"
rc=0; "$JOBQ" wait --timeout 60s "$id" || rc=$?
assert_eq 0 "$rc" "the enqueued job ran"

# A wait begun while jobqd is down waits for it too.
stop_daemon
"$JOBQ" --connect-timeout 1m wait "$id" 2>"$WORK/wait.err" &
wait_pid=$!
sleep 1
start_daemon
rc=0; wait $wait_pid || rc=$?
assert_eq 0 "$rc" "a wait begun while jobqd was down (stderr: $(cat "$WORK/wait.err"))"

# Too short a time: exit 69, naming the time tried; 0 fails at once.
stop_daemon
started=$(date +%s%N)
rc=0; "$JOBQ" --connect-timeout 2s enqueue r true 2>"$WORK/err" || rc=$?
took_ms=$((($(date +%s%N) - started) / 1000000))
assert_eq 69 "$rc" "enqueue with no jobqd for 2 s"
grep -q "jobqd is not running at $JOBQ_SOCKET (tried for 2 s)" "$WORK/err" ||
  fail "the message does not name the time: $(cat "$WORK/err")"
((took_ms >= 2000 && took_ms < 10000)) || fail "gave up after $took_ms ms, not about 2 s"
started=$(date +%s%N)
rc=0; "$JOBQ" --connect-timeout 0 status 2>"$WORK/err" || rc=$?
took_ms=$((($(date +%s%N) - started) / 1000000))
assert_eq 69 "$rc" "status with --connect-timeout 0"
((took_ms < 1500)) || fail "--connect-timeout 0 took $took_ms ms"
grep -q "trying again" "$WORK/err" && fail "--connect-timeout 0 retried: $(cat "$WORK/err")"
rc=0; "$JOBQ" --connect-timeout soon status 2>"$WORK/err" || rc=$?
assert_eq 64 "$rc" "a --connect-timeout that is not a duration"
echo "PASS"
