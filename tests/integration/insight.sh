#!/usr/bin/env bash
# Status at a glance, metrics, stats and retention: `jobq status` shows the
# version, uptime, the engine and per application running/limit, pending,
# failures in the last hour and the oldest pending job; `jobq metrics` is
# valid Prometheus text; `jobq stats` summarizes ended jobs; `jobq prune` and
# jobqd --retention delete old finished jobs; `jobq top` and `jobq wait` show
# live progress on a terminal only.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create a --image "$TEST_IMAGE" --max-running 2 >/dev/null
"$JOBQ" app create b --image "$TEST_IMAGE" >/dev/null
ok=$(enq a -- sh -c 'sleep 0.2')
bad=$(enq a -- sh -c 'exit 3')
"$JOBQ" wait "$ok" "$bad" >/dev/null || true
long=$(enq a -- sleep 30)
later=$(enq b --delay 1h -- true)
wait_state "$long" running
sleep 1

st=$("$JOBQ" status --json)
assert_eq 1 "$(jq '.status.uptime_s >= 1' <<<"$st" | grep -c true)" "uptime"
[[ $(jq -r .status.engine.version <<<"$st") == [0-9]* ]] || fail "engine version: $(jq .status.engine <<<"$st")"
assert_eq "1 2 0 1" "$(jq -r '.status.apps[] | select(.name=="a") | "\(.running) \(.max_running) \(.pending) \(.failed_last_hour)"' <<<"$st")" "application a at a glance"
assert_eq "0 1" "$(jq -r '.status.apps[] | select(.name=="b") | "\(.running) \(.pending)"' <<<"$st")" "application b at a glance"
(( $(jq '.status.apps[] | select(.name=="b") | .oldest_pending_age_s' <<<"$st") >= 1 )) || fail "oldest pending age"
"$JOBQ" status | grep -qE '^a +1/2 +0 +1 ' || fail "status table: $("$JOBQ" status)"

# Metrics: every sample line is "name{labels} number", every metric has a TYPE.
"$JOBQ" metrics >"$WORK/metrics"
bad_lines=$(grep -vE '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+)$' "$WORK/metrics" || true)
[[ -z $bad_lines ]] || fail "malformed metrics lines: $bad_lines"
for name in $(grep -vE '^#' "$WORK/metrics" | sed -E 's/[{ ].*//; s/_(bucket|sum|count)$//' | sort -u); do
  grep -q "^# TYPE $name " "$WORK/metrics" || fail "metric $name has no TYPE"
done
grep -q '^jobq_jobs{app="a",state="failed"} 1$' "$WORK/metrics" || fail "jobs by state: $(grep jobq_jobs "$WORK/metrics")"
grep -q '^jobq_launches_total 3$' "$WORK/metrics" || fail "launches: $(grep launches_total "$WORK/metrics")"
grep -q '^jobq_finish_detection_lag_seconds_count 2$' "$WORK/metrics" || fail "finish lag count"

# Stats: two ended jobs of a, one of each state; the run time of the sleep.
stats=$("$JOBQ" stats --json --app a)
assert_eq 2 "$(jq '.stats.apps[0].ended' <<<"$stats")" "ended jobs"
assert_eq '{"failed":1,"succeeded":1}' "$(jq -c '.stats.apps[0].states' <<<"$stats")" "states"
(( $(jq '.stats.apps[0].duration_ms.max' <<<"$stats") >= 150 )) || fail "max duration: $stats"
"$JOBQ" stats | grep -q '^a ' || fail "stats table"

# top: one snapshot when not on a terminal; live on one, q quits.
"$JOBQ" top | grep -q "^$long " || fail "top snapshot lacks the running job"
if command -v script >/dev/null; then
  out=$( (sleep 1.5; printf q) | timeout 20 script -qec "$JOBQ top --interval 300ms" /dev/null) || fail "top on a terminal did not quit on q"
  [[ $out == *"jobq top"* && $out == *"$long"* ]] || fail "top on a terminal: $out"
  out=$(timeout 30 script -qec "$JOBQ wait $bad $ok" /dev/null 2>&1 || true)
  [[ $out == *"job $ok: succeeded"* ]] || fail "wait on a terminal: $out"
  quick=$(enq a -- sleep 2)
  out=$(timeout 30 script -qec "$JOBQ wait $quick" /dev/null 2>&1 || true)
  [[ $out == *"waiting for"* ]] || fail "no progress shown by wait on a terminal: $out"
fi
err=$("$JOBQ" wait "$ok" 2>&1 >/dev/null)
assert_eq "" "$err" "wait's stderr when not on a terminal"

# Retention: prune on demand, then jobqd --retention at start.
"$JOBQ" cancel "$long" >/dev/null
assert_eq "would delete 0" "$("$JOBQ" prune --dry-run --older-than 1h | cut -d' ' -f1-3)" "nothing older than an hour"
sleep 1
"$JOBQ" prune --older-than 1s | grep -q "^deleted [1-9]" || fail "prune --older-than"
rc=0; "$JOBQ" show "$ok" >/dev/null 2>&1 || rc=$?
assert_eq 66 "$rc" "a pruned job"
assert_eq pending "$(job_field "$later" .state)" "a pending job survives prune"
extra=$(enq b -- true)
"$JOBQ" wait "$extra" >/dev/null
stop_daemon
sleep 2
start_daemon --retention 1s
for _ in $(seq 1 50); do "$JOBQ" show "$extra" >/dev/null 2>&1 || break; sleep 0.1; done
rc=0; "$JOBQ" show "$extra" >/dev/null 2>&1 || rc=$?
assert_eq 66 "$rc" "a job past jobqd --retention"
grep -q "pruned 1 finished job" "$DAEMON_LOG" || fail "pruning not logged"
echo "PASS"
