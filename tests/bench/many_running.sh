#!/usr/bin/env bash
# Benchmark: jobqd's cost while it watches N running containers.
#
#   JOBQ=.../jobq JOBQD=.../jobqd ENGINE_SIM=.../engine_sim \
#     bash tests/bench/many_running.sh [N=1000] [SECONDS=30]
#
# Starts engine_sim (containers run until stopped) and a jobqd against it
# (defaults, no global limit; JOBQD_ARGS adds options), enqueues N jobs in an
# application without a limit, waits until all N are running, lets it settle
# (SETTLE_S seconds, default 5), then measures jobqd's CPU time (utime+stime
# from /proc/PID/stat) over SECONDS seconds in which nothing is asked of it,
# and its VmRSS. Prints one JSON line on stdout:
#   {"running": N, "cpu_percent_of_one_core": x, "rss_kb": y, "seconds": s}
# (progress and the simulator's own CPU go to stderr). Then stops both
# processes by pid (the simulated containers end with the simulator). Every wait is bounded; the simulator also
# exits by itself (--max-seconds) should this script be killed.
set -euo pipefail

: "${JOBQ:?path to the jobq binary}"
: "${JOBQD:?path to the jobqd binary}"
: "${ENGINE_SIM:?path to the engine_sim binary}"

N=${1:-1000}
MEASURE_S=${2:-30}
[[ $N =~ ^[0-9]+$ && $N -ge 1 ]] || { echo "N must be a positive integer" >&2; exit 2; }
[[ $MEASURE_S =~ ^[0-9]+$ && $MEASURE_S -ge 1 ]] || { echo "SECONDS must be a positive integer" >&2; exit 2; }
[[ ${SETTLE_S:-5} =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "SETTLE_S must be a number of seconds" >&2; exit 2; }
SETTLE_S=${SETTLE_S:-5}   # seconds between "all running" and the measurement
START_TIMEOUT_S=$((120 + N / 5))   # until all N run
SIM_MAX_S=$((START_TIMEOUT_S + ${SETTLE_S%.*} + 1 + MEASURE_S + 120))

WORK=$(mktemp -d /tmp/jobq-bench-running.XXXXXX)
ENGINE_SOCK=$WORK/engine.sock
export JOBQ_SOCKET=$WORK/jobq.sock
SIM_PID=
DAEMON_PID=
CLK_TCK=$(getconf CLK_TCK)

log() { echo "many_running: $*" >&2; }
source "$(dirname "$0")/lib/common.sh"  # fail, stop_pid, start_engine_sim
source "$(dirname "$0")/lib/proc.sh"    # now, cpu_ticks, rss_kb

cleanup() {
  local rc=$?
  trap '' PIPE
  stop_pid "$DAEMON_PID"
  stop_pid "$SIM_PID" 5
  if [[ $rc -ne 0 ]]; then
    echo "---- jobqd log (tail) ----" >&2
    tail -n 30 "$WORK/jobqd.log" >&2 2>/dev/null || true
    cat "$WORK/sim.log" >&2 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

running_jobs() { "$JOBQ" status --json | jq -r '.status.jobs.running // 0'; }

start_engine_sim "$ENGINE_SOCK" "$WORK/sim.log" --run-ms -1 --max-seconds "$SIM_MAX_S" ||
  fail "engine_sim did not come up"

# shellcheck disable=SC2086  # JOBQD_ARGS is a list of options
"$JOBQD" --engine "unix://$ENGINE_SOCK" --state-dir "$WORK/state" --socket "$JOBQ_SOCKET" \
  --max-running 0 --log-level warn ${JOBQD_ARGS:-} >"$WORK/jobqd.log" 2>&1 </dev/null &
DAEMON_PID=$!
for _ in $(seq 1 100); do
  "$JOBQ" status >/dev/null 2>&1 && break
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "jobqd exited at start"
  sleep 0.1
done
"$JOBQ" status >/dev/null || fail "jobqd did not answer within 10 s"

"$JOBQ" app create bench --image engine-sim/bench:latest --max-running 0 >/dev/null
log "enqueueing $N jobs"
began=$(now)
for _ in $(seq 1 "$N"); do echo '{"app":"bench","command":["run"]}'; done >"$WORK/jobs.jsonl"
"$JOBQ" enqueue --batch "$WORK/jobs.jsonl" >"$WORK/ids"
[[ $(wc -l <"$WORK/ids") -eq $N ]] || fail "enqueued $(wc -l <"$WORK/ids") jobs, not $N"

deadline=$((SECONDS + START_TIMEOUT_S))
while :; do
  running=$(running_jobs)
  [[ $running -ge $N ]] && break
  ((SECONDS < deadline)) || fail "only $running of $N jobs running after ${START_TIMEOUT_S} s"
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "jobqd died with $running running"
  sleep 0.2
done
log "all $N running $(awk -v a="$began" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s after the first enqueue; settling ${SETTLE_S} s"
sleep "$SETTLE_S"

# The quiet window: nothing is asked of jobqd; it only does its own polling.
t0=$(now)
cpu0=$(cpu_ticks "$DAEMON_PID")
sim0=$(cpu_ticks "$SIM_PID")
sleep "$MEASURE_S"
cpu1=$(cpu_ticks "$DAEMON_PID")
sim1=$(cpu_ticks "$SIM_PID")
t1=$(now)
rss=$(rss_kb "$DAEMON_PID")
running=$(running_jobs)

awk -v n="$running" -v c0="$cpu0" -v c1="$cpu1" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" -v rss="$rss" \
  'BEGIN { s = t1 - t0; printf "{\"running\": %d, \"cpu_percent_of_one_core\": %.2f, \"rss_kb\": %d, \"seconds\": %.2f}\n", n, 100 * (c1 - c0) / hz / s, rss, s }'
awk -v c0="$sim0" -v c1="$sim1" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$t1" -v rss="$(rss_kb "$SIM_PID")" \
  'BEGIN { printf "many_running: engine_sim over the same window: %.2f%% of one core, rss %d kB\n", 100 * (c1 - c0) / hz / (t1 - t0), rss }' >&2

log "stopping"
