#!/usr/bin/env bash
# Webhooks: an application's notifications reach a receiver on loopback with
# the job, its attempts, exit code and times; a call answered with an HTTP
# error is tried again; a dead receiver holds up nothing and its failures are
# logged; final-failure fires once, after the last retry.
source "$(dirname "$0")/lib.sh"
: "${WEBHOOK_RECEIVER:?path to the webhook_receiver helper}"
RECEIVER_PID=
extra_cleanup() { [[ -z $RECEIVER_PID ]] || kill "$RECEIVER_PID" 2>/dev/null || true; }
setsid "$WEBHOOK_RECEIVER" --port-file "$WORK/port" --out "$WORK/calls" --fail-first 1 \
  --max-seconds 240 >"$WORK/receiver.log" 2>&1 </dev/null &
RECEIVER_PID=$!
for _ in $(seq 1 50); do [[ -s $WORK/port ]] && break; sleep 0.1; done
port=$(cat "$WORK/port")
dead_port=$(( port == 65535 ? 65534 : port + 1 ))  # most likely nothing listens there; checked below
if (exec 3<>"/dev/tcp/127.0.0.1/$dead_port") 2>/dev/null; then dead_port=9; fi

start_daemon
"$JOBQ" app create w --image "$TEST_IMAGE" --retries 1 --retry-base 100ms --retry-max 100ms \
  --webhook "http://127.0.0.1:$port/hook" --notify-on success,failure,final-failure >/dev/null
"$JOBQ" app create dead --image "$TEST_IMAGE" --webhook "http://127.0.0.1:$dead_port/x" \
  --notify-on success >/dev/null

ok=$(enq w -- sh -c 'echo fine')
bad=$(enq w -- sh -c 'exit 3')
t0=$(date +%s%N)
quiet=$(enq dead -- true)
"$JOBQ" wait --timeout 60s "$quiet" >/dev/null
t1=$(date +%s%N)
(( (t1 - t0) / 1000000 < 20000 )) || fail "a dead receiver held up a job ($(( (t1 - t0) / 1000000 )) ms)"
"$JOBQ" wait --timeout 60s "$ok" "$bad" >/dev/null || true

# Expected calls: ok/success, bad/failure (attempt 1), bad/failure and
# bad/final-failure (attempt 2); the first request got a 500 and was repeated.
calls() { [[ -f $WORK/calls ]] && jq -s 'map(.headers["x-jobq-delivery"]) | unique | length' "$WORK/calls" || echo 0; }
requests() { [[ -f $WORK/calls ]] && jq -s length "$WORK/calls" || echo 0; }
for _ in $(seq 1 300); do [[ $(calls) -ge 4 && $(requests) -ge 5 ]] && break; sleep 0.1; done
assert_eq 4 "$(calls)" "distinct webhook deliveries"
assert_eq 5 "$(jq -s length "$WORK/calls")" "requests (one repeated after a 500)"
repeated=$(jq -rs 'group_by(.headers["x-jobq-delivery"]) | map(select(length > 1)) | length' "$WORK/calls")
assert_eq 1 "$repeated" "deliveries sent twice"
not_uuid=$(jq -rs 'map(.headers["x-jobq-delivery"]) | map(select(test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$") | not)) | length' "$WORK/calls")
assert_eq 0 "$not_uuid" "delivery ids that are not random UUIDs"
events() { jq -rs --argjson id "$1" '[.[] | .body | fromjson | select(.job.id == $id) | .event] | unique | join(",")' "$WORK/calls"; }
assert_eq success "$(events "$ok")" "events of the successful job"
assert_eq "failure,final-failure" "$(events "$bad")" "events of the failing job"
final=$(jq -s --argjson id "$bad" '[.[] | .body | fromjson | select(.job.id == $id and .event == "final-failure")] | first' "$WORK/calls")
assert_eq 3 "$(jq .job.exit_code <<<"$final")" "exit code in the final-failure body"
assert_eq 2 "$(jq '.job.attempts | length' <<<"$final")" "attempts in the final-failure body"
[[ $(jq -r '.job.attempts[1].finished_at' <<<"$final") == 20* ]] || fail "no finish time in the body"
assert_eq POST "$(jq -rs '.[0].method' "$WORK/calls")" "method"
assert_eq application/json "$(jq -rs '.[0].headers["content-type"]' "$WORK/calls")" "content type"
assert_eq 1 "$(jq -s '[.[] | .headers["x-jobq-event"]] | map(select(. == "final-failure")) | length' "$WORK/calls")" "final-failure sent once"

# The dead receiver's failure is logged (and retried later, not forever).
for _ in $(seq 1 100); do grep -q "webhook .* failed" "$DAEMON_LOG" && break; sleep 0.1; done
grep -q "webhook .* failed" "$DAEMON_LOG" || fail "a failed delivery was not logged"

# Refused: a URL that is not http(s).
rc=0; "$JOBQ" app create bad --image "$TEST_IMAGE" --webhook "file:///etc/passwd" 2>/dev/null || rc=$?
assert_eq 1 "$rc" "a file:// webhook"
rc=0; "$JOBQ" app update w --notify-on started 2>/dev/null || rc=$?
assert_eq 1 "$rc" "an unknown event"
echo "PASS"
