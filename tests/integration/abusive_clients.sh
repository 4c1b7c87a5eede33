#!/usr/bin/env bash
# One member of the socket group cannot take the daemon from the others: with
# a real unprivileged user who opens many connections, sends `list` over a
# store of big jobs and never reads, jobqd's memory stays within the per-user
# budget and root's and another user's `jobq status` answer within a second;
# past its share of connections the user is refused (naming the limit) while
# others, and admins past the total, still get in. A `wait` naming one job
# many times answers it once; --max-request above 1 MiB is honoured.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root to create test users" >&2; exit 125; }
: "${HOLD_CLIENTS:?path to the hold_clients helper}"
group=jobq-test-abuse
abuser=jobq-test-abuser
other=jobq-test-other
holder=
extra_cleanup() {
  # A user whose processes still run cannot be removed: stop ours first.
  [[ -z $holder ]] || { kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; } || true
}
test_group $group
test_user $abuser $group
test_user $other $group
chmod 755 "$WORK"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }
# status_ms USER: how long that user's `jobq status` takes (fails past 10 s).
status_ms() {
  local start end
  start=$(date +%s%N)
  if [[ $1 == root ]]; then timeout 10 "$JOBQ" status >/dev/null || fail "root's status failed"
  else as "$1" timeout 10 "$JOBQ" status >/dev/null || fail "$1's status failed"; fi
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

# 1. Big replies: 60 connections each asking `list` of 1,500 jobs of 4 KB env
# (6 MB a reply before paging) and never reading. Budget: 16 MiB here.
start_daemon --socket-group $group --max-connections 400 --max-user-buffer 16M
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null
"$JOBQ" app pause t >/dev/null  # nothing runs: the jobs stay pending
env_value=$(head -c 4000 /dev/zero | tr '\0' x)
awk -v e="$env_value" 'BEGIN { for (i = 0; i < 1500; i++) printf "{\"app\":\"t\",\"command\":[\"true\"],\"env\":{\"E\":\"%s\"}}\n", e }' \
  >"$WORK/batch"
"$JOBQ" enqueue --batch "$WORK/batch" >/dev/null
assert_eq 1500 "$("$JOBQ" list --limit 0 --json | jq '.jobs | length')" "jobs listed across pages"
assert_eq 1500 "$("$JOBQ" list --limit 0 --json | jq '[.jobs[].id] | unique | length')" "distinct jobs listed across pages"
assert_eq 1 "$("$JOBQ" list --limit 0 --json | jq '[.jobs[].id] | . == sort' | grep -c true)" "pages joined oldest first"
assert_eq 700 "$("$JOBQ" list --limit 700 --json | jq '.jobs | length')" "--limit across pages"
base=$(rss_kb)
printf '{"v":1,"cmd":"list","args":{"limit":0}}\n' >"$WORK/list.req"
chmod 644 "$WORK/list.req"
as_argv $abuser
"${AS[@]}" "$HOLD_CLIENTS" "$JOBQ_SOCKET" 60 12 send "$WORK/list.req" >"$WORK/hold.out" &
holder=$!
sleep 2
peak=0 worst=0
for _ in $(seq 1 8); do
  for who in root $other; do
    ms=$(status_ms $who)
    ((ms > worst)) && worst=$ms
  done
  r=$(rss_kb)
  ((r > peak)) && peak=$r
  sleep 0.5
done
wait "$holder"; holder=
echo "abusive list clients: RSS baseline ${base} kB, peak ${peak} kB; slowest status ${worst} ms"
((worst < 1000 * TIME_FACTOR)) || fail "another user's status took ${worst} ms while a user's clients did not read"
# 16 MiB of replies plus one page per connection in flight and slack (not
# under ASan, whose quarantine keeps freed memory resident).
((SANITIZED == 1 || peak - base < 40 * 1024)) || fail "jobqd grew by $((peak - base)) kB under one user's unread replies"

# 2. --max-request above 1 MiB is honoured; a wait naming one big job many
# times answers it once.
stop_daemon
start_daemon --socket-group $group --max-request 4M
head -c 2000000 /dev/zero | tr '\0' y >"$WORK/big_env"
reply=$(jq -cn --rawfile e "$WORK/big_env" '{v:1,cmd:"enqueue",args:{app:"t",command:["true"],env:{E:$e}}}' |
  timeout 20 socat -t 10 - "UNIX-CONNECT:$JOBQ_SOCKET" | head -n 1)
assert_eq true "$(jq -r .ok <<<"$reply")" "a 2 MB request with --max-request 4M"
big=$(jq -r .result.id <<<"$reply")
"$JOBQ" cancel "$big" >/dev/null
ids=$(printf "$big,%.0s" $(seq 1 50))
reply=$(printf '{"v":1,"cmd":"wait","args":{"ids":[%s]}}\n' "${ids%,}" | timeout 20 socat -t 10 - "UNIX-CONNECT:$JOBQ_SOCKET" | head -n 1)
assert_eq 1 "$(jq '.result.jobs | length' <<<"$reply")" "a wait naming one job 50 times answers it once"
assert_eq cancelled "$(jq -r '.result.jobs[0].state' <<<"$reply")" "the awaited job's state"
((${#reply} < 3000000)) || fail "a wait naming one job 50 times answered ${#reply} bytes"

# 3. Connections: a user past its share is refused, naming the limit; others
# and root still get in; root gets in past the total too.
stop_daemon
start_daemon --socket-group $group --max-connections 40
as_argv $abuser
"${AS[@]}" "$HOLD_CLIENTS" "$JOBQ_SOCKET" 40 6 idle >"$WORK/idle.out" 2>&1 &
holder=$!
sleep 1.5
as $other "$JOBQ" status >/dev/null || fail "another user was refused while one user held its share (10 of 40)"
err=$(as $abuser "$JOBQ" status 2>&1 >/dev/null || true)
grep -q -- "--max-connections-per-user" <<<"$err" || fail "the refusal does not name the per-user limit: $err"
wait "$holder"; holder=
stop_daemon
start_daemon --socket-group $group --max-connections 40 --max-connections-per-user 40
as_argv $abuser
"${AS[@]}" "$HOLD_CLIENTS" "$JOBQ_SOCKET" 40 6 idle >"$WORK/idle.out" 2>&1 &
holder=$!
sleep 1.5
"$JOBQ" status >/dev/null || fail "root was refused while one user held every connection"
err=$(as $other "$JOBQ" status 2>&1 >/dev/null || true)
grep -q -- "--max-connections)" <<<"$err" || fail "the refusal does not name the total limit: $err"
wait "$holder"; holder=
echo "ok"
