#!/usr/bin/env bash
# The daemon survives clients that send garbage: each gets a clear error (or
# is closed), and afterwards jobqd still serves a normal enqueue and the store
# is intact.
source "$(dirname "$0")/lib.sh"
start_daemon --idle-timeout 2s --request-timeout 3s
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null
before=$(enq t -- sh -c 'exit 0')
"$JOBQ" wait "$before"

send() {  # raw request bytes on stdin -> the daemon's one reply line
  timeout 10 socat -t 5 - "UNIX-CONNECT:$JOBQ_SOCKET" | head -n 1
}
error_code() { jq -r '.error.code' 2>/dev/null; }

assert_eq bad_request "$(printf 'garbage\n' | send | error_code)" "garbage line"
assert_eq bad_request "$(printf '{"v":1,"cmd":"show","args":{"id":1}\n' | send | error_code)" "truncated JSON"
assert_eq bad_request "$(printf '[1,2,3]\n' | send | error_code)" "JSON that is not an object"
assert_eq bad_request "$(printf '{"v":1,"cmd":"show","args":{"id":"one"}}\n' | send | error_code)" "wrong type"
assert_eq bad_request "$(printf '{"v":1,"cmd":"show","args":{"id":1,"evil":true}}\n' | send | error_code)" "unknown field"
assert_eq bad_request "$(printf '{"v":1,"cmd":"shw"}\n' | send | error_code)" "unknown command"
assert_eq unsupported_version "$(printf '{"v":99,"cmd":"status"}\n' | send | error_code)" "future protocol version"
assert_eq bad_request "$(printf '{"v":1,"cmd":"status"\0}\n' | send | error_code)" "NUL byte"
assert_eq bad_request "$(printf '{"v":1,"cmd":"enqueue","args":{"app":"t","env":{"A":"x\\u0000y"}}}\n' | send | error_code)" "NUL inside a JSON string"
assert_eq bad_request "$(printf '{"v":1,"cmd":"enqueue","args":{"app":"t","labels":{"jobq.job":"1"}}}\n' | send | error_code)" "reserved label"
assert_eq not_found "$(printf '{"v":1,"cmd":"show","args":{"id":424242}}\n' | send | error_code)" "unknown job"
deep=$(printf '{"v":1,"cmd":"status","args":{"x":%s%s}}' "$(head -c 300000 /dev/zero | tr '\0' '[')" "$(head -c 300000 /dev/zero | tr '\0' ']')")
assert_eq bad_request "$(printf '%s\n' "$deep" | send | error_code)" "300,000 levels of nesting"
# A message within the limit as sent but over it in compact form (1E9 -> 1000000000.0).
big_message=$(printf '[%s1]' "$(printf '1E9,%.0s' $(seq 1 24000))")
assert_eq too_large "$(jq -cn --arg m "$big_message" '{v:1,cmd:"enqueue",args:{app:"t",message:$m}}' | send | error_code)" "message over the limit once compacted"
# A 2 MiB line without a newline: too_large, then the connection is closed.
assert_eq too_large "$(head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' | send | error_code)" "2 MiB line"
# A client that sends half a request and vanishes, and one that sends nothing.
printf '{"v":1,"cmd":"sta' | timeout 2 socat -t 0.1 - "UNIX-CONNECT:$JOBQ_SOCKET" >/dev/null || true
timeout 5 socat -t 4 /dev/null "UNIX-CONNECT:$JOBQ_SOCKET" >/dev/null || true
# 1000 idle connections at once do not stop a normal client.
: "${HOLD_CLIENTS:?path to the hold_clients helper}"
"$HOLD_CLIENTS" "$JOBQ_SOCKET" 1000 4 idle >"$WORK/idle.out" &
holder=$!
sleep 1.5
after=$(enq t -- sh -c 'exit 7')
rc=0; "$JOBQ" wait --timeout 60s "$after" || rc=$?
assert_eq 7 "$rc" "a normal job while 1000 clients sit idle"
wait "$holder"
grep -q "^opened 1000 " "$WORK/idle.out" || fail "idle clients: $(cat "$WORK/idle.out")"
# Idle clients are closed after --idle-timeout (2 s here); they held no slot for good.
grep -q "closed_by_server 1000" "$WORK/idle.out" || fail "idle clients were not timed out: $(cat "$WORK/idle.out")"
# A client trickling one byte a second is cut off after --request-timeout (3 s).
"$HOLD_CLIENTS" "$JOBQ_SOCKET" 5 8 trickle >"$WORK/trickle.out"
grep -q "closed_by_server 5" "$WORK/trickle.out" || fail "trickling clients were not cut off: $(cat "$WORK/trickle.out")"

# Past --max-connections a client gets a clear error instead of hanging; a
# waiting client that goes away (Ctrl-C) gives its connection back at once.
stop_daemon
start_daemon --max-connections 5
long=$(enq t -- sleep 60)
waiters=()
for _ in 1 2 3 4 5; do "$JOBQ" wait "$long" >/dev/null 2>&1 & waiters+=($!); done
sleep 1
# root is an admin: admitted past the cap (abusive_clients.sh shows a user refused).
"$JOBQ" status >/dev/null || fail "root was refused while 5 waits held every connection"
kill -TERM "${waiters[@]}"  # (background jobs ignore SIGINT)
for p in "${waiters[@]}"; do wait "$p" 2>/dev/null || true; done
sleep 0.5
"$JOBQ" status >/dev/null || fail "connections of interrupted waits were not given back"
"$JOBQ" cancel --no-wait "$long" >/dev/null
"$HOLD_CLIENTS" "$JOBQ_SOCKET" 5 4 idle >/dev/null &
holder=$!
sleep 1
"$JOBQ" status >/dev/null || fail "root (an admin) was refused past --max-connections 5"
wait "$holder"
"$JOBQ" status >/dev/null || fail "not served once the others left"

kill -0 "$DAEMON_PID" || fail "jobqd died"
assert_eq succeeded "$(job_field "$before" .state)" "job recorded before the garbage"
stop_daemon
assert_eq ok "$(sqlite3 "$WORK/state/jobq.db" 'PRAGMA integrity_check')" "store integrity"
echo "PASS"
