#!/usr/bin/env bash
# While the engine cannot be reached, jobs are still accepted and kept; status
# says the engine is unreachable; when it answers again the queue drains.
# The "engine" here is a socat proxy to the real dockerd that we start late.
source "$(dirname "$0")/lib.sh"
proxy=$WORK/docker.sock
DOCKER_HOST=unix://$proxy start_daemon
assert_eq false "$("$JOBQ" status --json | jq .status.engine.reachable)" "engine reachable while down"
# The engine is down: the application is made, with a warning that its image
# was not checked (jobs are accepted then too).
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null 2>"$WORK/create.err" || fail "app create while the engine is down: $(cat "$WORK/create.err")"
grep -q "^jobq: warning: .*not checked" "$WORK/create.err" || fail "no warning that the image was not checked: $(cat "$WORK/create.err")"
id=$(enq t -- sh -c 'exit 6')
sleep 1
state=$(job_field "$id" .state)
[[ $state == pending || $state == starting ]] || fail "job state while the engine is down: $state"

socat "UNIX-LISTEN:$proxy,fork" UNIX-CONNECT:/var/run/docker.sock </dev/null >/dev/null 2>&1 &
proxy_pid=$!
rc=0; "$JOBQ" wait --timeout 60s "$id" || rc=$?
assert_eq 6 "$rc" "job run once the engine answers"
assert_eq true "$("$JOBQ" status --json | jq .status.engine.reachable)" "engine reachable after it came back"
assert_eq 1 "$(job_field "$id" '.attempts | length')" "attempts"
stop_daemon
kill "$proxy_pid" 2>/dev/null || true
wait "$proxy_pid" 2>/dev/null || true
echo "PASS"
