#!/usr/bin/env bash
# The benchmark suite: one command, one Markdown table.
#
#   bash tests/bench/run.sh [--smoke] [--out FILE]
#
# Binaries come from JOBQ, JOBQD, ENGINE_SIM and ENQUEUE_LOAD when all four
# are given (as the CTest test bench.smoke does); otherwise the script builds
# them in build-bench/ (Release) of this checkout, installing what the build
# needs first (packaging/install-deps.sh, as root). When no Docker engine
# answers, a full run as root starts dockerd (packaging/ensure-dockerd.sh) and
# stops it at the end. The image is JOBQ_TEST_IMAGE (default
# jobq-test-busybox:latest); when it is missing it is built with
# packaging/make-test-image.sh (label jobq.test=1) and removed at the end. Every jobqd and engine_sim runs on a socket and state directory
# under a temporary folder of its own; every container it or `docker run`
# makes carries the label jobq-bench-run=<run id> and is removed at the end;
# only processes this script started are stopped, by pid. A watchdog ends the
# run after an hour (smoke: 420 s, as it shares the machine with the rest of
# the suite) and every wait is bounded.
#
# Prints the table (date and machine on top) on stdout, and to FILE with
# --out. Exit 0 when every cell was measured, whether or not its target was
# met; 1 when a measurement could not be taken (an ERROR cell); 2 on bad
# usage or a missing binary; 125 when no Docker engine answers (1 with
# JOBQ_REQUIRE_DOCKER=1). --smoke runs every row at a small size.
# BENCH_ONLY=NAME runs the rows of one rows/ file alone (e.g. BENCH_ONLY=swarm;
# not cpu_per_job, which uses what real_docker.sh leaves).
#
# This file is the entry point: options, binaries, sizes and the run's state;
# then it sources the helpers (lib/) and each group of rows (rows/), in order.
# Each rows/ file measures its rows and adds them to the table:
#   real_docker.sh   1, 2, 3a-3d  drain, start latency, finish detection (dockerd)
#   swarm.sh         9a, 9b       the Swarm runtime's drain and launch latency,
#                                 against `docker service create` (a private
#                                 one-node swarm, private_swarm.sh)
#   warm.sh          10a-10e      warm containers against cold launches: latency,
#                                 drain, a pool of idle ones (dockerd)
#   idle.sh          7a           an idle jobqd (dockerd)
#   enqueue_depth.sh 4a-4d, 5a-5f enqueue rates, a deep store (simulator)
#   many.sh          6a, 6b       many running containers (simulator)
#   cpu_per_job.sh   7b           jobqd's CPU per job (simulator)
#   abuse.sh         8            clients that never read (simulator)
set -uo pipefail

usage() {
  echo "usage: bash tests/bench/run.sh [--smoke] [--out FILE]" >&2
  exit 2
}

SMOKE=0
OUT=
while (($#)); do
  case $1 in
    --smoke) SMOKE=1 ;;
    --out)
      [[ $# -ge 2 ]] || usage
      OUT=$2
      shift
      ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
  esac
  shift
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ -z ${JOBQ:-} || -z ${JOBQD:-} || -z ${ENGINE_SIM:-} || -z ${ENQUEUE_LOAD:-} ]]; then
  echo "bench: building the Release tree build-bench/" >&2
  "$ROOT/packaging/install-deps.sh" >&2 || { echo "bench: cannot install what the build needs" >&2; exit 2; }
  { cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DJOBQ_BUILD_TESTS=ON >/dev/null &&
    cmake --build "$ROOT/build-bench" -j"$(nproc)" --target jobq jobqd engine_sim enqueue_load >/dev/null; } ||
    { echo "bench: the build failed" >&2; exit 2; }
  JOBQ=$ROOT/build-bench/cli/jobq JOBQD=$ROOT/build-bench/daemon/jobqd
  ENGINE_SIM=$ROOT/build-bench/tests/bench/engine_sim ENQUEUE_LOAD=$ROOT/build-bench/tests/bench/enqueue_load
fi
IMAGE=${JOBQ_TEST_IMAGE:-jobq-test-busybox:latest}
for b in JOBQ JOBQD ENGINE_SIM ENQUEUE_LOAD; do
  [[ -x ${!b} ]] || { echo "bench: $b=${!b} is not an executable" >&2; exit 2; }
done
for t in docker jq awk timeout setsid; do
  command -v "$t" >/dev/null || { echo "bench: $t is needed" >&2; exit 2; }
done
export JOBQ JOBQD ENGINE_SIM

# ---------------------------------------------------------------- sizes
if ((SMOKE)); then
  MODE=smoke
  DRAIN_N=3 DRAIN_ROUNDS=1 LAT_SAMPLES=1 SLEEP_SAMPLES=1 SLEEP_JOB=0.1
  ONE_N=5 BATCH_N=2000 LOAD_N=400 LOAD_ROUNDS=1
  DEPTH_N=4000 QUERY_N=3
  MANY_N=30 MANY_S=1 MANY_SETTLE=0.2
  IDLE_S=0.5 CPU_JOBS=30
  ABUSE_JOBS=${ABUSE_JOBS:-300} ABUSE_CLIENTS=${ABUSE_CLIENTS:-5} ABUSE_SAMPLES=${ABUSE_SAMPLES:-3} ABUSE_HOLD_S=${ABUSE_HOLD_S:-3}
  SWARM_N=8 SWARM_P=8 SWARM_ROUNDS=1 SWARM_LAT=1
  WARM_LAT=2 WARM_N=8 WARM_P=4 WARM_ROUNDS=1 WARM_IDLE=4
  SCHED_N=20 SCHED_S=3
  PAUSE_S=0.2 GAP_S=0.1 SETTLE_S=0.2
  BUDGET_S=420
else
  MODE=full
  DRAIN_N=100 DRAIN_ROUNDS=3 LAT_SAMPLES=10 SLEEP_SAMPLES=10 SLEEP_JOB=0.3
  ONE_N=50 BATCH_N=100000 LOAD_N=10000 LOAD_ROUNDS=3
  DEPTH_N=1000000 QUERY_N=20
  MANY_N=1000 MANY_S=30 MANY_SETTLE=5
  IDLE_S=10 CPU_JOBS=1000
  # Row 8's sizes may be set from the environment (to run its full size alone
  # with --smoke: ABUSE_JOBS=5000 ABUSE_CLIENTS=60 ABUSE_SAMPLES=20 ABUSE_HOLD_S=15).
  ABUSE_JOBS=${ABUSE_JOBS:-5000} ABUSE_CLIENTS=${ABUSE_CLIENTS:-60} ABUSE_SAMPLES=${ABUSE_SAMPLES:-20} ABUSE_HOLD_S=${ABUSE_HOLD_S:-15}
  SWARM_N=40 SWARM_P=8 SWARM_ROUNDS=2 SWARM_LAT=10
  WARM_LAT=20 WARM_N=200 WARM_P=8 WARM_ROUNDS=2 WARM_IDLE=50
  SCHED_N=1000 SCHED_S=60
  PAUSE_S=2 GAP_S=0.5 SETTLE_S=1
  BUDGET_S=3600
fi

# ---------------------------------------------------------------- run state
WORK=$(mktemp -d /tmp/jobq-bench.XXXXXX)
RUN_ID=$(basename "$WORK")
LABEL="jobq-bench-run=$RUN_ID"
PIDS=()           # every long-lived process started here
INSTANCES=()      # jobqd instance ids (their containers carry jobq.instance=ID)
TSP_SOCKETS=()    # task-spooler servers started here (ended with tsp -K)
SWARM_DIRS=()     # private swarms up (ended with private_swarm.sh down)
BUILT_IMAGE=0
DOCKERD_PID=      # the dockerd this script started, if any
ERRORS=0
ROWS=()
WATCHDOG=
CLK_TCK=$(getconf CLK_TCK)

log() { echo "bench: [${SECONDS}s] $*" >&2; }

BENCH=$ROOT/tests/bench
source "$BENCH/lib/common.sh"   # fail, stop_pid, start_engine_sim
source "$BENCH/lib/proc.sh"     # now, cpu_ticks, sys_ticks, sys_busy, rss_kb, hwm_kb, thread_ticks
source "$BENCH/lib/numbers.sh"  # isnum, calc, median, p99, cmp_met, thousands, AWK_TIME
source "$BENCH/lib/cleanup.sh"  # forget_pid, cleanup, start_watchdog
source "$BENCH/lib/jobqd.sh"    # start_jobqd, stop_jobqd, jobq_at
source "$BENCH/lib/setup.sh"    # ensure_engine, ensure_image, have_tool
source "$BENCH/lib/table.sh"    # row, error_row, machine_header, end_table, table
trap cleanup EXIT
trap 'log "stopped by a signal"; exit 143' TERM INT
start_watchdog

# ---------------------------------------------------------------- set-up
ensure_engine
ensure_image
# task-spooler (row 4d) and the sqlite3 shell (rows 5f and 11)
HAVE_TSP=0 HAVE_SQLITE=0
want() { [[ -z ${BENCH_ONLY:-} || $BENCH_ONLY == "$1" ]]; }  # NAME: rows/NAME.sh runs
if want enqueue_depth; then
  have_tool tsp task-spooler && HAVE_TSP=1
fi
if want enqueue_depth || want schedules; then
  have_tool sqlite3 sqlite3 && HAVE_SQLITE=1
fi
machine_header
log "$MODE run in $WORK; budget ${BUDGET_S} s"

# ---------------------------------------------------------------- the rows
want real_docker && source "$BENCH/rows/real_docker.sh"
want swarm && source "$BENCH/rows/swarm.sh"
want warm && source "$BENCH/rows/warm.sh"
want idle && source "$BENCH/rows/idle.sh"
# The rows below share one simulator (SIM), whose containers run 10 ms.
if want enqueue_depth || want many || want cpu_per_job || want abuse || want schedules; then
  SIM_SOCK=$WORK/engine.sock
  start_engine_sim "$SIM_SOCK" "$WORK/engine_sim.log" --run-ms 10 --max-seconds "$BUDGET_S" || true
  PIDS+=("$SIM_PID")
  SIM="unix://$SIM_SOCK"
  want enqueue_depth && source "$BENCH/rows/enqueue_depth.sh"
  want many && source "$BENCH/rows/many.sh"
  want cpu_per_job && source "$BENCH/rows/cpu_per_job.sh"
  want abuse && source "$BENCH/rows/abuse.sh"
  want schedules && source "$BENCH/rows/schedules.sh"
  stop_pid "$SIM_PID" 5
  forget_pid "$SIM_PID"
fi

# ---------------------------------------------------------------- the table
end_table
table
[[ -n $OUT ]] && table >"$OUT"
if ((ERRORS)); then
  log "$ERRORS measurement(s) could not be taken"
  exit 1
fi
exit 0
