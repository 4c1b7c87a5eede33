#!/usr/bin/env bash
# One user cannot take the engine or the follow slots from everyone, with real
# users: eve takes every follow slot she can and floods `logs` of her running
# job with tens of MB of output; meanwhile root's `jobq status` answers within
# a second and dan can still follow his job. Eve's share is refused with a
# message naming the limit; `logs` of a running job is its last 1000 lines
# unless --tail says otherwise, and says so.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root to create test users" >&2; exit 125; }
group=jobq-test-fair
bg_pids=()
extra_cleanup() {
  local p
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
}
test_group $group
test_user jobq-test-eve $group
test_user jobq-test-dan $group
ms() { echo $(($(date +%s%N) / 1000000)); }
chmod 755 "$WORK"

start_daemon --socket-group $group
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null
# About 30 MB of output (400,000 lines), then it keeps running.
big=$(as jobq-test-eve "$JOBQ" enqueue t -q --label "jobq-test-run=$RUN_ID" -- \
  sh -c 'yes "eve writes a line of output that is seventy-five bytes long, more or less" | head -n 400000; echo written; sleep 120')
dans=$(as jobq-test-dan "$JOBQ" enqueue t -q --label "jobq-test-run=$RUN_ID" -- sh -c 'echo dan; sleep 120')
wait_state "$big" running
wait_state "$dans" running
for _ in $(seq 1 300); do
  [[ $(as jobq-test-eve "$JOBQ" logs "$big" --tail 1 2>/dev/null) == written ]] && break
  sleep 0.1
done
assert_eq written "$(as jobq-test-eve "$JOBQ" logs "$big" --tail 1)" "the big job's last line"

# Eve follows her job 64 times (the default total of follow slots).
for i in $(seq 1 64); do
  as_argv jobq-test-eve
  "${AS[@]}" "$JOBQ" logs -f --tail 0 "$big" >/dev/null 2>"$WORK/eve-follow-$i.err" &
  bg_pids+=($!)
done
for _ in $(seq 1 $((100 * TIME_FACTOR))); do
  grep -lq "follows-per-user" "$WORK"/eve-follow-*.err 2>/dev/null && break
  sleep 0.1
done
grep -l "follows-per-user" "$WORK"/eve-follow-*.err >/dev/null ||
  fail "eve's follows past her share were not refused naming the limit: $(cat "$WORK"/eve-follow-*.err | sort | uniq -c)"

# And floods `logs` of the running job (each a read from the engine).
for i in $(seq 1 6); do
  as_argv jobq-test-eve
  "${AS[@]}" "$JOBQ" logs "$big" >/dev/null 2>"$WORK/eve-logs-$i.err" &
  bg_pids+=($!)
done
sleep 0.3

# Root's status answers within a second, several times over. The client is
# started once first: its own first start (seconds for a sanitizer build's
# binary on a loaded machine, with no daemon involved) is not jobqd's answer.
"$JOBQ" --version >/dev/null
worst=0
for _ in 1 2 3 4 5; do
  t0=$(ms)
  "$JOBQ" status >/dev/null || fail "root's status failed"
  dt=$(($(ms) - t0))
  ((dt > worst)) && worst=$dt
  sleep 0.2
done
echo "root's jobq status under eve's flood: worst ${worst} ms"
((worst < 1000 * TIME_FACTOR)) || fail "root's status took ${worst} ms under another user's flood"

# Dan can still follow his job: it streams, and is not refused.
as_argv jobq-test-dan
"${AS[@]}" "$JOBQ" logs -f "$dans" >"$WORK/dan.out" 2>"$WORK/dan.err" &
dan_pid=$!
bg_pids+=($dan_pid)
for _ in $(seq 1 50); do
  [[ -s $WORK/dan.out ]] && break
  kill -0 $dan_pid 2>/dev/null || break
  sleep 0.1
done
assert_eq dan "$(cat "$WORK/dan.out")" "dan's follow (stderr: $(cat "$WORK/dan.err"))"
kill -0 $dan_pid 2>/dev/null || fail "dan's follow ended: $(cat "$WORK/dan.err")"

# Logs of a running job: its last 1000 lines, and a note saying how to get more.
as jobq-test-eve "$JOBQ" logs "$big" >"$WORK/tail.out" 2>"$WORK/tail.err"
assert_eq 1000 "$(wc -l <"$WORK/tail.out")" "lines of a running job's logs without --tail"
grep -q -- "--tail all" "$WORK/tail.err" || fail "no note on how to see more: $(cat "$WORK/tail.err")"
as jobq-test-eve "$JOBQ" logs "$big" --tail 5000 >"$WORK/tail.out" 2>"$WORK/tail.err"
assert_eq 5000 "$(wc -l <"$WORK/tail.out")" "lines with --tail 5000"
[[ ! -s $WORK/tail.err ]] || fail "a note with an explicit --tail: $(cat "$WORK/tail.err")"
for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
bg_pids=()
"$JOBQ" cancel --no-wait "$big" >/dev/null
"$JOBQ" cancel --no-wait "$dans" >/dev/null
echo "PASS"
