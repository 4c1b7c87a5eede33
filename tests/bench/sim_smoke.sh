#!/usr/bin/env bash
# engine_sim smoke test (no Docker needed): a jobqd pointed at the simulator
# runs 50 jobs of 200 ms to success, each with Docker-style StartedAt and
# FinishedAt times 200 ms or more apart. Stops both processes by pid.
set -euo pipefail

: "${JOBQ:?path to the jobq binary}"
: "${JOBQD:?path to the jobqd binary}"
: "${ENGINE_SIM:?path to the engine_sim binary}"

JOBS=50
RUN_MS=200
WORK=$(mktemp -d /tmp/jobq-sim-smoke.XXXXXX)
ENGINE_SOCK=$WORK/engine.sock
export JOBQ_SOCKET=$WORK/jobq.sock
SIM_PID=
DAEMON_PID=

source "$(dirname "$0")/lib/common.sh"  # fail, stop_pid, start_engine_sim

cleanup() {
  local rc=$?
  trap '' PIPE  # a closed stdout must not cut the cleanup short
  stop_pid "$DAEMON_PID"
  stop_pid "$SIM_PID" 10
  if [[ $rc -ne 0 ]]; then
    echo "---- jobqd log ----" >&2
    tail -n 40 "$WORK/jobqd.log" >&2 2>/dev/null || true
    echo "---- engine_sim stderr ----" >&2
    cat "$WORK/sim.log" >&2 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# The simulator ends by itself before CTest's timeout, whatever happens here.
start_engine_sim "$ENGINE_SOCK" "$WORK/sim.log" --run-ms "$RUN_MS" --max-seconds 110 ||
  fail "engine_sim did not come up"

"$JOBQD" --engine "unix://$ENGINE_SOCK" --state-dir "$WORK/state" --socket "$JOBQ_SOCKET" \
  --poll-interval 1s --max-running 0 >"$WORK/jobqd.log" 2>&1 </dev/null &
DAEMON_PID=$!
for _ in $(seq 1 100); do
  "$JOBQ" status >/dev/null 2>&1 && break
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "jobqd exited at start"
  sleep 0.1
done
status=$("$JOBQ" status --json) || fail "jobqd did not answer within 10 s"
[[ $(jq -r .status.engine.reachable <<<"$status") == true ]] || fail "jobqd cannot reach the simulator: $status"

"$JOBQ" app create sim --image engine-sim/anything:latest >/dev/null
ids=()
for _ in $(seq 1 "$JOBS"); do ids+=("$("$JOBQ" enqueue sim -q -- run)"); done
"$JOBQ" wait --timeout 90s "${ids[@]}" >/dev/null || fail "jobq wait failed (exit $?)"

# RFC 3339 in UTC with a fraction, as Docker writes it (trailing zeros trimmed).
docker_time='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$'
to_ns() {
  local t=$1 secs frac=0
  secs=$(date -u -d "${t%%.*}" +%s)
  if [[ $t == *.* ]]; then
    frac=${t#*.}
    frac=${frac%Z}
    frac=$(printf '%-9s' "$frac" | tr ' ' 0)
  else
    secs=$(date -u -d "${t%Z}" +%s)
  fi
  echo $((secs * 1000000000 + 10#$frac))
}
for id in "${ids[@]}"; do
  job=$("$JOBQ" show "$id" --json)
  state=$(jq -r .job.state <<<"$job")
  [[ $state == succeeded ]] || fail "job $id is $state, not succeeded: $job"
  [[ $(jq -r .job.exit_code <<<"$job") == 0 ]] || fail "job $id: exit code is not 0: $job"
  started=$(jq -r .job.started_at <<<"$job")
  finished=$(jq -r .job.finished_at <<<"$job")
  [[ $started =~ $docker_time ]] || fail "job $id: StartedAt '$started' is not a Docker time"
  [[ $finished =~ $docker_time ]] || fail "job $id: FinishedAt '$finished' is not a Docker time"
  ran_ns=$(($(to_ns "$finished") - $(to_ns "$started")))
  ((ran_ns >= RUN_MS * 1000000)) || fail "job $id ran ${ran_ns} ns, less than ${RUN_MS} ms"
  ((ran_ns < 30 * 1000000000)) || fail "job $id ran ${ran_ns} ns"
done
# Output was collected from the simulator's multiplexed log stream.
"$JOBQ" logs "${ids[0]}" | grep -q "started" || fail "job ${ids[0]}: output not collected"

echo "PASS ($JOBS jobs)"
