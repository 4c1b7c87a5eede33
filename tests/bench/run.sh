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
# run after 25 minutes (smoke: 160 s) and every wait is bounded.
#
# Prints the table (date and machine on top) on stdout, and to FILE with
# --out. Exit 0 when every cell was measured, whether or not its target was
# met; 1 when a measurement could not be taken (an ERROR cell); 2 on bad
# usage or a missing binary; 125 when no Docker engine answers (1 with
# JOBQ_REQUIRE_DOCKER=1). --smoke runs every row at a small size.
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
  PAUSE_S=0.2 GAP_S=0.1 SETTLE_S=0.2
  BUDGET_S=160
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
  PAUSE_S=2 GAP_S=0.5 SETTLE_S=1
  BUDGET_S=1500
fi

# ---------------------------------------------------------------- run state
WORK=$(mktemp -d /tmp/jobq-bench.XXXXXX)
RUN_ID=$(basename "$WORK")
LABEL="jobq-bench-run=$RUN_ID"
PIDS=()           # every long-lived process started here
INSTANCES=()      # jobqd instance ids (their containers carry jobq.instance=ID)
TSP_SOCKETS=()    # task-spooler servers started here (ended with tsp -K)
BUILT_IMAGE=0
DOCKERD_PID=      # the dockerd this script started, if any
ERRORS=0
ROWS=()
WATCHDOG=
CLK_TCK=$(getconf CLK_TCK)

log() { echo "bench: [${SECONDS}s] $*" >&2; }

source "$(dirname "$0")/lib.sh"  # stop_pid, start_engine_sim
forget_pid() {  # pid: stopped, so cleanup must not signal it (the number may be reused)
  local p kept=()
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

cleanup() {
  local rc=$? pid ids s
  trap '' PIPE TERM INT
  [[ -n $WATCHDOG ]] && kill "$WATCHDOG" 2>/dev/null
  for s in "${TSP_SOCKETS[@]}"; do TS_SOCKET=$s timeout 10 tsp -K >/dev/null 2>&1 || true; done
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  ids=$(docker ps -aq --filter "label=$LABEL" 2>/dev/null || true)
  for s in "${INSTANCES[@]}"; do ids+=" $(docker ps -aq --filter "label=jobq.instance=$s" 2>/dev/null || true)"; done
  # shellcheck disable=SC2086  # a list of ids
  [[ -z ${ids// /} ]] || docker rm -f $ids >/dev/null 2>&1 || true
  ((BUILT_IMAGE)) && docker rmi -f "$IMAGE" >/dev/null 2>&1
  [[ -n $DOCKERD_PID ]] && stop_pid "$DOCKERD_PID" 60
  if ((rc != 0 || ERRORS)); then
    for f in "$WORK"/*.log; do
      [[ -s $f ]] || continue
      echo "---- $(basename "$f") (tail) ----" >&2
      tail -n 15 "$f" >&2
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "stopped by a signal"; exit 143' TERM INT

# The watchdog: a loop that ends by itself when this script does.
(
  while ((SECONDS < BUDGET_S)); do
    kill -0 $$ 2>/dev/null || exit 0
    sleep 1
  done
  echo "bench: time budget of ${BUDGET_S} s exceeded; stopping" >&2
  kill -TERM $$ 2>/dev/null
) &
WATCHDOG=$!

# ---------------------------------------------------------------- helpers
isnum() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }
now() { echo "$EPOCHREALTIME"; }  # seconds, microseconds; no fork
calc() { awk "BEGIN { printf \"$1\", $2 }"; }  # printf-format expression
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
p99() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; i = int(NR * 0.99); if (i < NR * 0.99) i++; print v[i] }'; }
cmp_met() {  # value op target: yes/no
  awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
    r = (op == ">=") ? v >= t : (op == "<=") ? v <= t : (op == "<") ? v < t : v > t
    print r ? "yes" : "no" }'
}
thousands() { awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }; print s o }'; }
# RFC 3339 UTC (Docker's and jobq's times) to seconds since the epoch, with
# the fraction; an awk program, so hundreds of times cost no forks.
AWK_TIME='
function civil_days(y, m, d,   era, yoe, doy, doe) {
  y -= (m <= 2); era = int(y / 400); yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
  return era * 146097 + doe - 719468
}
function t2s(t,   a, frac) {
  if (t !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?Z$/) return "bad"
  frac = 0
  if (match(t, /\.[0-9]+/)) frac = substr(t, RSTART, RLENGTH) + 0
  split(t, a, /[-T:.Z]/)
  return civil_days(a[1] + 0, a[2] + 0, a[3] + 0) * 86400 + a[4] * 3600 + a[5] * 60 + a[6] + frac
}'

cpu_ticks() {  # pid: utime+stime in clock ticks (fields 14 and 15)
  local stat rest
  stat=$(<"/proc/$1/stat") || return 1
  rest=${stat##*) }
  awk '{ print $12 + $13 }' <<<"$rest"
}
sys_ticks() {  # the machine's busy and total CPU ticks so far (/proc/stat)
  awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6; exit }' /proc/stat
}
sys_busy() {  # "busy0 total0" "busy1 total1": percent of all CPUs busy in between
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# row ID MEASURE TARGET MEASURED MET [text]: one line of the table. MEASURED
# must hold a number (with "text": must not be empty); without one the cell
# reads ERROR and the run fails, unless it starts with "not measured:" (a
# tool that cannot be had here).
row() {
  local id=$1 what=$2 target=$3 measured=$4 met=$5 kind=${6:-number}
  if [[ $measured != "not measured:"* && ( ($kind == number && ! $measured =~ [0-9]) || -z $measured ) ]]; then
    measured="ERROR: not measured${measured:+ ($measured)}"
    met="—"
    ERRORS=$((ERRORS + 1))
  fi
  ROWS+=("| $id | $what | $target | $measured | $met |")
  log "row $id: $measured ($met)"
}
error_row() {  # ID MEASURE TARGET WHY
  ROWS+=("| $1 | $2 | $3 | ERROR: not measured ($4) | — |")
  ERRORS=$((ERRORS + 1))
  log "row $1: ERROR: $4"
}

# start_jobqd NAME [jobqd options...]: a jobqd on $WORK/NAME.sock with state
# $WORK/NAME/state, logging to $WORK/NAME.log; sets PID_NAME.
start_jobqd() {
  local name=$1 pid i inst
  shift
  setsid "$JOBQD" --config /dev/null --socket "$WORK/$name.sock" --state-dir "$WORK/$name/state" \
    --log-level "${LOG_LEVEL:-warn}" "$@" >>"$WORK/$name.log" 2>&1 </dev/null &
  pid=$!
  PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  for ((i = 0; i < 100; i++)); do
    if inst=$(JOBQ_SOCKET=$WORK/$name.sock "$JOBQ" status --json 2>/dev/null | jq -r .status.instance); then
      INSTANCES+=("$inst")
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { log "jobqd $name exited at start"; return 1; }
    sleep 0.1
  done
  log "jobqd $name did not answer within 10 s"
  return 1
}
stop_jobqd() {  # NAME
  local var="PID_$1"
  [[ -n ${!var:-} ]] || return 0
  stop_pid "${!var}"
  forget_pid "${!var}"
  printf -v "$var" '%s' ""
}
jobq_at() {  # NAME jobq-arguments...
  local name=$1
  shift
  JOBQ_SOCKET=$WORK/$name.sock "$JOBQ" "$@"
}

# ---------------------------------------------------------------- set-up
# No engine: a full run starts one (as root); a smoke run exits 125, which
# CTest reports as a skip (as the integration tests do), unless
# JOBQ_REQUIRE_DOCKER=1.
if ! docker info >/dev/null 2>&1; then
  if ((!SMOKE)) && DOCKERD_PID=$(DOCKERD_LOG=$WORK/dockerd.log "$ROOT/packaging/ensure-dockerd.sh") &&
    [[ -n $DOCKERD_PID ]]; then
    log "started dockerd (pid $DOCKERD_PID); it is stopped at the end"
  else
    log "no Docker engine answers (packaging/ensure-dockerd.sh starts one)"
    [[ ${JOBQ_REQUIRE_DOCKER:-0} == 1 || $SMOKE == 0 ]] && exit 1
    exit 125
  fi
fi
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "building the test image $IMAGE"
  "$ROOT/packaging/make-test-image.sh" "$IMAGE" jobq.test=1 >/dev/null || { log "cannot build $IMAGE"; exit 1; }
  BUILT_IMAGE=1
fi

# task-spooler (row 4d) and the sqlite3 shell (row 5): installed when missing
# in a full run (as root, with apt-get); a smoke run installs nothing.
have_tool() {  # command package
  command -v "$1" >/dev/null && return 0
  ((SMOKE)) && return 1
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
  log "installing $2"
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q "$2" >"$WORK/apt.log" 2>&1 ||
    { timeout 300 apt-get update -q >>"$WORK/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q "$2" >>"$WORK/apt.log" 2>&1; }
  command -v "$1" >/dev/null
}
HAVE_TSP=0 HAVE_SQLITE=0
have_tool tsp task-spooler && HAVE_TSP=1
have_tool sqlite3 sqlite3 && HAVE_SQLITE=1

# The machine, on top of the table.
fsync_ms() {  # ms per 4 KiB O_DSYNC write (the disk's fsync), over 200 writes in $WORK
  dd if=/dev/zero of="$WORK/fsync.probe" bs=4k count=200 oflag=dsync 2>&1 |
    awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") printf "%.2f\n", $(i - 1) * 1000 / 200 }'
  rm -f "$WORK/fsync.probe"
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }
FSYNC0=$(fsync_ms) LOAD0=$(loadavg)
read -r fs_dev fs_type fs_size < <(df -PTh "$WORK" | awk 'NR == 2 { print $1, $2, $3 }')
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_gib=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
docker_version=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo "?")
jobq_version=$("$JOBQ" --version 2>/dev/null | head -n 1 | sed 's/^jobq //')
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && commit+=" with local changes"
build_type=$(awk -F= '/^CMAKE_BUILD_TYPE:/ { print $2 }' "$(dirname "$(dirname "$JOBQ")")/CMakeCache.txt" 2>/dev/null)
HEADER=(
  "### jobq benchmarks ($MODE run)"
  ""
  "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  "- Machine: $(nproc) CPUs (${cpu_model:-?}), ${mem_gib} GiB memory, kernel $(uname -r), Docker ${docker_version}"
  "- Disk: $fs_dev ($fs_type, $fs_size) under $(dirname "$WORK")"
  "- jobq ${jobq_version:-?}, ${build_type:-unknown} build in $(dirname "$(dirname "$JOBQ")") (source tree at commit $commit)"
)
log "$MODE run in $WORK; budget ${BUDGET_S} s"

# ====================================================== rows 1-3: real Docker
DRAIN_JOBQ=() DRAIN_DOCKER=() LAT_JOBQ=() LAT_DOCKER=()
DRAIN_CPU_JOBQ=() DRAIN_CPU_DOCKER=() DRAIN_BUSY_JOBQ=() DRAIN_BUSY_DOCKER=()
: >"$WORK/finish.ids"
: >"$WORK/latency.ids"
: >"$WORK/docker-true.ms"

# drain_SIDE ROUND: prints "jobs/s  machine-CPU-ms-per-job  machine-busy-%"
drain_jobq() {
  local r=$1 t0 t1 i s0 s1 c0 c1
  for ((i = 0; i < DRAIN_N; i++)); do
    printf '{"app":"drain","command":["true"],"labels":{"jobq-bench-run":"%s"}}\n' "$RUN_ID"
  done >"$WORK/drain.jsonl"
  c0=$(cpu_ticks "$PID_R")
  s0=$(sys_ticks)
  t0=$(now)
  timeout 120 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" enqueue --batch "$WORK/drain.jsonl" >"$WORK/drain.$r.ids" || return 1
  # shellcheck disable=SC2046  # the ids
  timeout 600 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" wait --timeout 590s $(<"$WORK/drain.$r.ids") >/dev/null || return 1
  t1=$(now)
  s1=$(sys_ticks)
  c1=$(cpu_ticks "$PID_R")
  [[ $(wc -l <"$WORK/drain.$r.ids") -eq $DRAIN_N ]] || return 1
  echo "$((c1 - c0))" >>"$WORK/drain.jobqd.ticks"
  cat "$WORK/drain.$r.ids" >>"$WORK/finish.ids"
  drain_result "$t0" "$t1" "$s0" "$s1"
}
drain_result() {  # t0 t1 sys0 sys1
  echo "$(calc "%.2f" "$DRAIN_N / ($2 - $1)") $(calc %.0f "(${4%% *} - ${3%% *}) * 1000 / $CLK_TCK / $DRAIN_N") $(sys_busy "$3" "$4")"
}
drain_docker() {
  local r=$1 t0 t1 codes rc=0 s0 s1
  s0=$(sys_ticks)
  t0=$(now)
  # shellcheck disable=SC2016  # expanded by the inner sh
  seq "$DRAIN_N" | timeout 300 xargs -P 8 -I{} docker run --detach --label "$LABEL" "$IMAGE" true \
    >"$WORK/docker.$r.ids" 2>>"$WORK/docker.log" || rc=1
  # shellcheck disable=SC2046  # the ids
  codes=$(timeout 300 docker wait $(<"$WORK/docker.$r.ids") 2>>"$WORK/docker.log") || rc=1
  t1=$(now)
  s1=$(sys_ticks)
  # shellcheck disable=SC2046
  docker rm $(<"$WORK/docker.$r.ids") >/dev/null 2>&1
  ((rc == 0)) && [[ $(wc -l <"$WORK/docker.$r.ids") -eq $DRAIN_N ]] || return 1
  [[ $(grep -cx 0 <<<"$codes") -eq $DRAIN_N ]] || return 1
  drain_result "$t0" "$t1" "$s0" "$s1"
}
latency_jobq() {  # prints ms from just before `jobq enqueue` to Docker's StartedAt
  local t0 id started
  t0=$(now)
  id=$(timeout 30 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" enqueue latency -q --label "$LABEL" -- true) || return 1
  timeout 60 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" wait --timeout 55s "$id" >/dev/null || return 1
  echo "$id" >>"$WORK/finish.ids"
  echo "$id" >>"$WORK/latency.ids"
  started=$(jobq_at R show "$id" --json | jq -r .job.started_at) || return 1
  awk -v t0="$t0" -v s="$started" "$AWK_TIME"'BEGIN { x = t2s(s); if (x == "bad") exit 1; printf "%.3f", (x - t0) * 1000 }'
}
latency_docker() {  # prints ms from just before `docker run --detach` to Docker's StartedAt
  # Docker's own finish detection goes to docker-true.ms (see docker_finish).
  local t0 cid
  t0=$(now)
  cid=$(timeout 30 docker run --detach --label "$LABEL" "$IMAGE" true 2>>"$WORK/docker.log") || return 1
  docker_finish "$cid" >>"$WORK/docker-true.ms" || return 1
  awk -v t0="$t0" -v s="$DOCKER_STARTED" "$AWK_TIME"'BEGIN { x = t2s(s); if (x == "bad") exit 1; printf "%.3f", (x - t0) * 1000 }'
}
# docker_finish CID: runs `docker wait` on a container just started and prints
# ms from its FinishedAt to `docker wait` returning: how soon Docker's own
# client learns of the exit. Sets DOCKER_STARTED; removes the container.
docker_finish() {
  local cid=$1 t1 times
  timeout 30 docker wait "$cid" >/dev/null 2>>"$WORK/docker.log" || return 1
  t1=$(now)
  times=$(docker inspect -f '{{.State.StartedAt}} {{.State.FinishedAt}}' "$cid" 2>>"$WORK/docker.log")
  docker rm -f "$cid" >/dev/null 2>&1
  DOCKER_STARTED=${times% *}
  awk -v t1="$t1" -v f="${times#* }" "$AWK_TIME"'BEGIN { x = t2s(f); if (x == "bad") exit 1; printf "%.3f\n", (t1 - x) * 1000 }'
}
# Finish detection of jobs that outlive dockerd's answer to the start call
# (`sleep SLEEP_JOB`: 0.3 s, in a smoke run 0.1 s), one at a time, on Docker's default (bridge) network or on
# none: sleeper_SIDE NET prints ms from FinishedAt to the result (jobq:
# committed, its updated_at; docker: `docker wait` returned).
sleeper_jobq() {
  local id times
  id=$(timeout 30 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" enqueue "sleep-$1" -q --label "$LABEL" -- sleep "$SLEEP_JOB") || return 1
  times=$(timeout 60 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" wait --json --timeout 55s "$id" |
    jq -r '.jobs[0] | "\(.finished_at) \(.updated_at)"') || return 1
  echo "$id $times" >>"$WORK/sleep-$1.times"
  awk -v f="${times% *}" -v u="${times#* }" "$AWK_TIME"'BEGIN { x = t2s(f); y = t2s(u); if (x == "bad" || y == "bad") exit 1; printf "%.3f", (y - x) * 1000 }'
}
sleeper_docker() {
  local cid net=()
  [[ $1 == none ]] && net=(--network none)
  cid=$(timeout 30 docker run --detach "${net[@]}" --label "$LABEL" "$IMAGE" sleep "$SLEEP_JOB" 2>>"$WORK/docker.log") || return 1
  docker_finish "$cid"
}

# lag_split FILE: FILE holds "id FinishedAt updated_at" lines of jobs of R;
# prints "id lag told inspect own" (ms) for each: the lag, split where jobqd
# was told to look at the job (the engine's die event, or dockerd's answer to
# the start call: the last "asked to look at it" line before the inspect that
# found the container exited) and where that inspect returned ("exited").
lag_split() {
  awk "$AWK_TIME"'
    function stamp(line,   t) { t = substr(line, 2, 23); sub(/ /, "T", t); return t2s(t "Z") }
    FNR == NR {
      id = $6; sub(/:$/, "", id)
      if ($0 ~ /\[trace\] job [0-9]+: asked to look at it/) asked[id] = stamp($0)
      else if ($0 ~ /\[trace\] job [0-9]+: exited; collecting/ && !(id in found)) { found[id] = stamp($0); told[id] = asked[id] }
      next
    }
    ($1 in found) {
      f = t2s($2); u = t2s($3); e = told[$1] > f ? told[$1] : f; x = found[$1] > e ? found[$1] : e
      printf "%s %.3f %.3f %.3f %.3f\n", $1, (u - f) * 1000, (e - f) * 1000, (x - e) * 1000, (u - x) * 1000
    }' "$WORK/R.log" "$1"
}
# split_text FILE: the medians of lag_split's output, in words.
split_text() {
  local col
  col() { awk -v c="$1" '{ print $c }' "$2" | median | xargs printf %.1f; }
  echo "FinishedAt to jobqd told to look (engine's die event, or the start call's answer) $(col 3 "$1") ms, then the inspect that finds it exited (dockerd answers once it has cleaned up after the container) $(col 4 "$1") ms, then jobqd's own part (output, commit) $(col 5 "$1") ms"
}

rows_docker() {
  local r v i rate cpu busy
  # Trace level and UTC: the log's lines tell when dockerd answered each start
  # call ("started as"), when the engine's event named a job ("asked to look
  # at it") and when the inspect that found it exited returned ("exited").
  TZ=UTC LOG_LEVEL=trace start_jobqd R --launch-workers 8 --max-running 0 || return 1
  jobq_at R app create drain --image "$IMAGE" --max-running 0 >/dev/null || return 1
  jobq_at R app create latency --image "$IMAGE" --max-running 0 >/dev/null || return 1
  jobq_at R app create sleep-bridge --image "$IMAGE" --max-running 0 >/dev/null || return 1
  jobq_at R app create sleep-none --image "$IMAGE" --max-running 0 --network none >/dev/null || return 1
  for ((r = 1; r <= DRAIN_ROUNDS; r++)); do
    for side in $( ((r % 2)) && echo "jobq docker" || echo "docker jobq"); do
      sleep "$PAUSE_S"  # the engine settles (removals of the previous side)
      if v=$(drain_"$side" "$r") && read -r rate cpu busy <<<"$v" && isnum "$rate"; then
        if [[ $side == jobq ]]; then
          DRAIN_JOBQ+=("$rate") DRAIN_CPU_JOBQ+=("$cpu") DRAIN_BUSY_JOBQ+=("$busy")
        else
          DRAIN_DOCKER+=("$rate") DRAIN_CPU_DOCKER+=("$cpu") DRAIN_BUSY_DOCKER+=("$busy")
        fi
        log "drain round $r $side: $rate jobs/s, machine CPU $cpu ms per job, $busy % busy"
      else
        log "drain round $r $side failed"
      fi
    done
  done
  sleep "$PAUSE_S"
  for ((i = 1; i <= LAT_SAMPLES; i++)); do
    for side in $( ((i % 2)) && echo "jobq docker" || echo "docker jobq"); do
      sleep "$GAP_S"  # an idle queue and engine
      if v=$(latency_"$side") && isnum "$v"; then
        [[ $side == jobq ]] && LAT_JOBQ+=("$v") || LAT_DOCKER+=("$v")
      else
        log "latency sample $i $side failed"
      fi
    done
  done
  for ((i = 1; i <= SLEEP_SAMPLES; i++)); do
    for net in bridge none; do
      for side in $( ((i % 2)) && echo "jobq docker" || echo "docker jobq"); do
        sleep "$GAP_S"
        if v=$(sleeper_"$side" "$net") && isnum "$v"; then
          echo "$v" >>"$WORK/sleep-$net.$side.ms"
        else
          log "finish sample $i $side $net failed"
        fi
      done
    done
  done
  # Finish detection over every jobq job of rows 1 and 2.
  # shellcheck disable=SC2046
  jobq_at R wait --json $(<"$WORK/finish.ids") | jq -r '.jobs[] | "\(.id) \(.finished_at) \(.updated_at)"' \
    >"$WORK/finish.times"
  awk "$AWK_TIME"'{ f = t2s($2); u = t2s($3); if (f == "bad" || u == "bad") next; printf "%.3f\n", (u - f) * 1000 }' \
    "$WORK/finish.times" >"$WORK/finish.ms"
  lag_split "$WORK/finish.times" >"$WORK/finish.split"
  stop_jobqd R
}

log "rows 1-3: jobqd against the real dockerd"
rows_docker || log "rows 1-3: set-up failed"

drain_what="Drain: $DRAIN_N jobs \`true\` from the first enqueue (one \`jobq enqueue --batch\`) to the last result (\`jobq wait\` on all), jobqd --launch-workers 8, no limit; vs \`docker run --detach\` ×$DRAIN_N (xargs -P8) + \`docker wait\`; $DRAIN_ROUNDS alternating round(s), medians"
if ((${#DRAIN_JOBQ[@]} == DRAIN_ROUNDS && ${#DRAIN_DOCKER[@]} == DRAIN_ROUNDS)); then
  mj=$(printf '%s\n' "${DRAIN_JOBQ[@]}" | median)
  md=$(printf '%s\n' "${DRAIN_DOCKER[@]}" | median)
  ratio=$(calc "%.2f" "$mj / $md")
  row 1 "$drain_what" "jobq/docker ≥ 1.0" \
    "jobq $mj jobs/s, docker $md jobs/s: ratio **$ratio** (rounds: jobq ${DRAIN_JOBQ[*]}; docker ${DRAIN_DOCKER[*]}). Machine CPU per job, median: jobq $(printf '%s\n' "${DRAIN_CPU_JOBQ[@]}" | median) ms, docker $(printf '%s\n' "${DRAIN_CPU_DOCKER[@]}" | median) ms; both CPUs busy: jobq $(printf '%s\n' "${DRAIN_BUSY_JOBQ[@]}" | median) %, docker $(printf '%s\n' "${DRAIN_BUSY_DOCKER[@]}" | median) %" \
    "$(cmp_met "$ratio" ">=" 1.0)"
else
  error_row 1 "$drain_what" "jobq/docker ≥ 1.0" "a round failed"
fi

lat_what="Start latency, idle queue: enqueue (\`\$EPOCHREALTIME\` just before \`jobq enqueue\`) to Docker's StartedAt, minus \`docker run --detach\` to StartedAt; $LAT_SAMPLES alternating samples each, same host clock; median overhead"
if ((${#LAT_JOBQ[@]} == LAT_SAMPLES && ${#LAT_DOCKER[@]} == LAT_SAMPLES)); then
  mj=$(printf '%s\n' "${LAT_JOBQ[@]}" | median)
  md=$(printf '%s\n' "${LAT_DOCKER[@]}" | median)
  over=$(calc "%.1f" "$mj - $md")
  row 2 "$lat_what" "≤ 20 ms" \
    "**$over ms** (jobq $(calc %.1f "$mj") ms, docker run $(calc %.1f "$md") ms; ratio $(calc %.2f "$mj / $md"))" \
    "$(cmp_met "$over" "<=" 20)"
else
  error_row 2 "$lat_what" "≤ 20 ms" "a sample failed"
fi

fin_what="Finish detection: Docker's FinishedAt to the result committed (updated_at), over the jobq jobs of rows 1-2; jobqd --poll-interval 1s (default)"
nfin=$(wc -l <"$WORK/finish.ms" 2>/dev/null || echo 0)
if ((nfin > 0 && nfin == $(wc -l <"$WORK/finish.ids"))); then
  fmed=$(median <"$WORK/finish.ms")
  f99=$(p99 <"$WORK/finish.ms")
  split=
  if [[ $(wc -l <"$WORK/finish.split") -eq $nfin ]]; then
    # column: 2 the lag, 3 before dockerd answered the start call, 4 after
    split="; of which, medians: $(split_text "$WORK/finish.split")"
    # The jobs of row 2 alone: one at a time, on an idle engine.
    awk 'FNR == NR { want[$1] = 1; next } ($1 in want)' "$WORK/latency.ids" "$WORK/finish.split" >"$WORK/finish.idle"
    [[ -s $WORK/finish.idle ]] &&
      split+="; the $LAT_SAMPLES jobs of row 2 alone (one at a time): median $(awk '{ print $2 }' "$WORK/finish.idle" | median | xargs printf %.1f) ms"
  fi
  if [[ -s $WORK/docker-true.ms ]]; then
    split+=". Docker's own client, for the \`true\` containers of row 2 (\`docker wait\` right after \`docker run --detach\`): FinishedAt to \`docker wait\` returning, median $(median <"$WORK/docker-true.ms" | xargs printf %.1f) ms"
  fi
  row 3a "$fin_what: median" "≤ 50 ms" "**$(calc %.1f "$fmed") ms** ($nfin jobs$split)" "$(cmp_met "$fmed" "<=" 50)"
  row 3b "$fin_what: p99" "≤ 1000 ms (the poll interval)" "**$(calc %.1f "$f99") ms** (max $(sort -g "$WORK/finish.ms" | tail -n 1 | xargs printf %.1f) ms)" "$(cmp_met "$f99" "<=" 1000)"
else
  error_row 3a "$fin_what: median" "≤ 50 ms" "no finished jobs"
  error_row 3b "$fin_what: p99" "≤ 1000 ms (the poll interval)" "no finished jobs"
fi

# finish_row ID NET: finish detection of the `sleep $SLEEP_JOB` jobs on network NET.
finish_row() {
  local id=$1 net=$2 what mj md detail=
  what="Finish detection of jobs that outlive dockerd's answer to the start call (\`sleep $SLEEP_JOB\`), network $net$([[ $net == bridge ]] && echo " (Docker's default)"), one at a time, $SLEEP_SAMPLES alternating samples each: FinishedAt to the result committed (jobq), against FinishedAt to \`docker wait\` returning (\`docker run --detach$([[ $net == none ]] && echo " --network none")\`, then \`docker wait\`); median"
  if [[ $(wc -l <"$WORK/sleep-$net.jobq.ms" 2>/dev/null) -ne $SLEEP_SAMPLES ||
    $(wc -l <"$WORK/sleep-$net.docker.ms" 2>/dev/null) -ne $SLEEP_SAMPLES ]]; then
    error_row "$id" "$what" "≤ 50 ms" "a sample failed"
    return
  fi
  mj=$(median <"$WORK/sleep-$net.jobq.ms")
  md=$(median <"$WORK/sleep-$net.docker.ms")
  lag_split "$WORK/sleep-$net.times" >"$WORK/sleep-$net.split"
  [[ $(wc -l <"$WORK/sleep-$net.split") -eq $SLEEP_SAMPLES ]] &&
    detail="; of jobq's, medians: $(split_text "$WORK/sleep-$net.split")"
  row "$id" "$what" "≤ 50 ms" \
    "**$(calc %.1f "$mj") ms** (max $(sort -g "$WORK/sleep-$net.jobq.ms" | tail -n 1 | xargs printf %.1f) ms); docker wait $(calc %.1f "$md") ms, ratio jobq/docker $(calc %.2f "$mj / $md")$detail" \
    "$(cmp_met "$mj" "<=" 50)"
}
finish_row 3c bridge
finish_row 3d none

# ====================================================== row 7a: idle jobqd
idle_what="Idle jobqd (real dockerd, empty store): CPU over ${IDLE_S} s, VmRSS"
if start_jobqd I; then
  sleep "$SETTLE_S"
  c0=$(cpu_ticks "$PID_I")
  t0=$(now)
  sleep "$IDLE_S"
  c1=$(cpu_ticks "$PID_I")
  t1=$(now)
  rss=$(rss_kb "$PID_I")
  if isnum "${c0:-}" && isnum "${c1:-}" && isnum "${rss:-}"; then
    row 7a "$idle_what" "— (reported)" \
      "$(calc %.2f "100 * ($c1 - $c0) / $CLK_TCK / ($t1 - $t0)") % of one core, $(calc %.1f "$rss / 1024") MiB" "—"
  else
    error_row 7a "$idle_what" "— (reported)" "/proc read failed"
  fi
  stop_jobqd I
else
  error_row 7a "$idle_what" "— (reported)" "jobqd did not start"
fi

# ====================================================== rows 4-5: the simulator
SIM_SOCK=$WORK/engine.sock
start_engine_sim "$SIM_SOCK" "$WORK/engine_sim.log" --run-ms 10 --max-seconds "$BUDGET_S" || true
PIDS+=("$SIM_PID")
SIM="unix://$SIM_SOCK"

ONE_MS=() LOAD_E=() LOAD_D=() LOAD_T=() LIST_MS=() SHOW_MS=() LOAD_E_CPU=() LOAD_E_BUSY=() LOAD_E_T1=() LOAD_E_T2=()
BATCH_RATE='' DEPTH_OK=0

tsp_round() {  # round: sets TSP_RATE, jobs/s of LOAD_N `tsp` adds, 8 in parallel
  local dir=$WORK/tsp.$1 t0 t1 rc=0 per left i
  TSP_RATE=
  mkdir -p "$dir"
  local -a env=(TS_SOCKET="$dir/socket" TMPDIR="$dir" TS_MAXFINISHED=$((LOAD_N + 100)) TS_SLOTS=1)
  TSP_SOCKETS+=("$dir/socket")
  env "${env[@]}" timeout 10 tsp -S 1 >/dev/null 2>&1 || return 1  # starts the server
  per=$(((LOAD_N + 7) / 8))
  t0=$(now)
  # shellcheck disable=SC2016  # expanded by the inner sh
  seq "$LOAD_N" | env "${env[@]}" timeout 300 xargs -P 8 -n "$per" \
    sh -c 'for i; do tsp -n -L x true >/dev/null || exit 255; done' sh || rc=1
  t1=$(now)
  # Let it run what it queued, then end the server.
  for ((i = 0; i < 1200; i++)); do
    left=$(env "${env[@]}" timeout 10 tsp -l 2>/dev/null | awk 'NR > 1 && ($2 == "queued" || $2 == "running")' | wc -l)
    [[ $left -eq 0 ]] && break
    sleep 0.1
  done
  env "${env[@]}" timeout 10 tsp -K >/dev/null 2>&1
  ((rc == 0)) || return 1
  TSP_RATE=$(calc "%.0f" "$LOAD_N / ($t1 - $t0)")
}
thread_ticks() {  # pid: "tid ticks" per thread
  local t stat
  for t in /proc/"$1"/task/*; do
    stat=$(<"$t/stat") 2>/dev/null || continue
    echo "${t##*/} $(awk '{ print $12 + $13 }' <<<"${stat##*) }")"
  done
}
load_jobqd() {  # NAME: prints acknowledged jobs/s of LOAD_N single enqueues by 8 clients,
  # jobqd's CPU (% of one core), the machine's busy % and jobqd's two busiest
  # threads (% of one core each) meanwhile
  local out pid_var="PID_$1" c0 c1 s0 s1 t0 t1 top
  thread_ticks "${!pid_var}" >"$WORK/threads.0"
  c0=$(cpu_ticks "${!pid_var}") s0=$(sys_ticks) t0=$(now)
  out=$(timeout 300 "$ENQUEUE_LOAD" "$WORK/$1.sock" paused 8 "$LOAD_N" 2>>"$WORK/enqueue_load.log") || return 1
  c1=$(cpu_ticks "${!pid_var}") s1=$(sys_ticks) t1=$(now)
  thread_ticks "${!pid_var}" >"$WORK/threads.1"
  top=$(awk -v hz="$CLK_TCK" -v secs="$(calc %.6f "$t1 - $t0")" 'FNR == NR { a[$1] = $2; next }
    { printf "%.0f\n", 100 * ($2 - a[$1]) / hz / secs }' "$WORK/threads.0" "$WORK/threads.1" | sort -rn | head -n 2 | paste -sd' ')
  jq -e '.errors == 0' <<<"$out" >/dev/null || return 1
  echo "$(jq -r .per_second <<<"$out") $(calc %.0f "100 * ($c1 - $c0) / $CLK_TCK / ($t1 - $t0)") $(sys_busy "$s0" "$s1") ${top:-? ?}"
}

rows_enqueue() {
  local i r v c b t0 t1 t2 side
  start_jobqd E --engine "$SIM" || return 1
  start_jobqd D --engine "$SIM" || return 1
  for n in E D; do
    jobq_at "$n" app create paused --image engine-sim/bench:latest --max-running 0 >/dev/null || return 1
    jobq_at "$n" app pause paused >/dev/null || return 1
  done
  # 4a: one `jobq enqueue` process, start to exit.
  for ((i = 0; i < ONE_N; i++)); do
    t0=$(now)
    JOBQ_SOCKET=$WORK/E.sock "$JOBQ" enqueue paused -q -- true >/dev/null || { log "enqueue failed"; return 1; }
    t1=$(now)
    ONE_MS+=("$(calc %.3f "($t1 - $t0) * 1000")")
  done
  # 4b: a batch of BATCH_N into D's empty store; then D is filled to DEPTH_N.
  awk -v n="$BATCH_N" 'BEGIN { for (i = 0; i < n; i++) print "{\"app\":\"paused\",\"command\":[\"true\"]}" }' >"$WORK/batch.jsonl"
  t0=$(now)
  timeout 600 env JOBQ_SOCKET="$WORK/D.sock" "$JOBQ" enqueue --batch "$WORK/batch.jsonl" >"$WORK/batch.ids" || return 1
  t1=$(now)
  [[ $(wc -l <"$WORK/batch.ids") -eq $BATCH_N ]] && BATCH_RATE=$(calc %.0f "$BATCH_N / ($t1 - $t0)")
  log "filling D to $DEPTH_N pending jobs"
  for ((i = BATCH_N; i < DEPTH_N; i += BATCH_N)); do
    timeout 600 env JOBQ_SOCKET="$WORK/D.sock" "$JOBQ" enqueue --batch "$WORK/batch.jsonl" >/dev/null || return 1
  done
  [[ $(jobq_at D status --json | jq -r '.status.apps[] | select(.name == "paused") | .pending') -ge $DEPTH_N ]] &&
    DEPTH_OK=1
  # 4c, 4d, 5a: rounds of E (empty store), tsp, D (deep store), order rotating.
  local -a order=(E T D)
  for ((r = 0; r < LOAD_ROUNDS; r++)); do
    for ((i = 0; i < 3; i++)); do
      side=${order[(r + i) % 3]}
      sleep "$SETTLE_S"
      case $side in
        T) ((HAVE_TSP)) || continue
           tsp_round "$r" && v=$TSP_RATE && isnum "$v" && LOAD_T+=("$v") ;;
        E) v=$(load_jobqd E) && read -r v c b t1 t2 <<<"$v" && isnum "$v" && LOAD_E+=("$v") &&
             LOAD_E_CPU+=("$c") LOAD_E_BUSY+=("$b") LOAD_E_T1+=("$t1") LOAD_E_T2+=("$t2") ;;
        D) v=$(load_jobqd D) && read -r v c b t1 t2 <<<"$v" && isnum "$v" && LOAD_D+=("$v") ;;
      esac
      log "enqueue round $((r + 1)) $side: ${v:-failed} jobs/s"
      v=
    done
  done
  # 5b, 5c: list and show on the deep store, alternating.
  for ((i = 0; i < QUERY_N; i++)); do
    t0=$(now)
    jobq_at D list --limit 50 >/dev/null || return 1
    t1=$(now)
    LIST_MS+=("$(calc %.3f "($t1 - $t0) * 1000")")
    id=$(((RANDOM * 32768 + RANDOM) % DEPTH_N + 1))
    t0=$(now)
    jobq_at D show "$id" >/dev/null || return 1
    t1=$(now)
    SHOW_MS+=("$(calc %.3f "($t1 - $t0) * 1000")")
  done
  D_RSS=$(rss_kb "$PID_D")
  D_HWM=$(hwm_kb "$PID_D")
  D_FILES=$(du -cb "$WORK/D/state"/jobq.db* 2>/dev/null | awk 'END { print $1 }')
  D_WAL=$(stat -c %s "$WORK/D/state/jobq.db-wal" 2>/dev/null || echo 0)
  # How far a checkpoint from another connection gets: "busy|WAL frames|copied".
  D_CKPT=
  ((HAVE_SQLITE)) && D_CKPT=$(timeout 60 sqlite3 "$WORK/D/state/jobq.db" "PRAGMA wal_checkpoint(PASSIVE);" 2>/dev/null)
  # 5e: the plans of the claim's queries (lib/store/store_attempts.cpp).
  if ((HAVE_SQLITE)); then
    local q plan name steps
    PLANS=()
    while IFS='|' read -r name q; do
      plan=$(timeout 30 sqlite3 -readonly "$WORK/D/state/jobq.db" "EXPLAIN QUERY PLAN $q" 2>&1) || plan="error: $plan"
      # "SEARCH jobs USING INDEX x (...)": index; "SCAN jobs [USING ...]": SCAN.
      steps=$(grep -Eo '(SEARCH|SCAN) (TABLE )?jobs( USING (COVERING )?INDEX [a-z_]+)?' <<<"$plan" |
        awk '{ print $1 ($NF != "jobs" ? " " $NF : "") }' | paste -sd, -)
      if [[ $plan == error:* || -z $steps ]]; then PLANS+=("$name: error: ${plan//$'\n'/ }")
      elif [[ $steps == *SCAN* ]]; then PLANS+=("$name: SCAN ($steps)")
      else PLANS+=("$name: index ($steps)")
      fi
    done <<'EOF'
busy|SELECT app, COUNT(*) FROM jobs WHERE state IN ('starting','running') GROUP BY app
due|UPDATE jobs INDEXED BY jobs_delayed SET due=1 WHERE state='pending' AND due=0 AND not_before_ns<=1
claim|SELECT id FROM jobs INDEXED BY jobs_claim WHERE app='paused' AND state='pending' AND due=1 AND held=0 AND waiting_on=0 ORDER BY priority DESC, id LIMIT 4
next_due|SELECT MIN(not_before_ns) FROM jobs INDEXED BY jobs_delayed WHERE state='pending' AND due=0 AND not_before_ns>1
EOF
  fi
  stop_jobqd E
  stop_jobqd D
}

log "rows 4-5: enqueue and depth, jobqd against engine_sim"
rows_enqueue || log "rows 4-5: a step failed"

w4a="Enqueue (a): one \`jobq enqueue APP -q -- true\` process, start to exit (paused app, simulator engine), median of $ONE_N"
if ((${#ONE_MS[@]} == ONE_N)); then
  m=$(printf '%s\n' "${ONE_MS[@]}" | median)
  row 4a "$w4a" "≤ 5 ms" "**$(calc %.2f "$m") ms**" "$(cmp_met "$m" "<=" 5)"
else
  error_row 4a "$w4a" "≤ 5 ms" "an enqueue failed"
fi
w4b="Enqueue (b): \`jobq enqueue --batch\` of $(thousands "$BATCH_N") jobs into an empty store, start to exit"
if isnum "${BATCH_RATE:-}"; then
  row 4b "$w4b" "≥ 20,000 jobs/s" "**$(thousands "$BATCH_RATE") jobs/s**" "$(cmp_met "$BATCH_RATE" ">=" 20000)"
else
  error_row 4b "$w4b" "≥ 20,000 jobs/s" "the batch failed"
fi
w4c="Enqueue (c): 8 clients (enqueue_load), single enqueues of $(thousands "$LOAD_N") jobs, each acknowledged after commit (synchronous=FULL), paused app, empty store; median of $LOAD_ROUNDS round(s)"
if ((${#LOAD_E[@]} == LOAD_ROUNDS)); then
  me=$(printf '%s\n' "${LOAD_E[@]}" | median)
  row 4c "$w4c" "≥ 5,000 jobs/s" "**$(thousands "$me") jobs/s** (rounds: ${LOAD_E[*]}); meanwhile, medians: jobqd $(printf '%s\n' "${LOAD_E_CPU[@]}" | median) % of one core (its two busiest threads $(printf '%s\n' "${LOAD_E_T1[@]}" | median) % and $(printf '%s\n' "${LOAD_E_T2[@]}" | median) %), both CPUs $(printf '%s\n' "${LOAD_E_BUSY[@]}" | median) % busy" "$(cmp_met "$me" ">=" 5000)"
else
  error_row 4c "$w4c" "≥ 5,000 jobs/s" "a round failed"
fi
w4d="Enqueue (d): the same $(thousands "$LOAD_N") jobs added with task-spooler (\`tsp -n -L x true\`, 8 loops in parallel, one server per round; tsp runs them as they come, keeps its queue in memory), rounds alternating with (c); ratio jobq (c) / tsp"
if ((!HAVE_TSP)); then
  row 4d "$w4d" "— (comparison)" "not measured: task-spooler (tsp) is not installed and could not be installed$( ((SMOKE)) && echo " (a smoke run installs nothing)")" "—"
elif ((${#LOAD_T[@]} == LOAD_ROUNDS)); then
  mt=$(printf '%s\n' "${LOAD_T[@]}" | median)
  row 4d "$w4d" "— (comparison)" "tsp **$(thousands "$mt") jobs/s** (rounds: ${LOAD_T[*]}); ratio jobq/tsp **$(isnum "${me:-}" && calc %.2f "$me / $mt" || echo "n/a: (c) failed")**" "—"
else
  error_row 4d "$w4d" "— (comparison)" "a round failed"
fi
w5a="Depth: the 8-client rate of (c) with $(thousands "$DEPTH_N") pending jobs in the store (paused app, simulator engine), rounds alternating with (c)"
if ((DEPTH_OK && ${#LOAD_D[@]} == LOAD_ROUNDS)) && isnum "${me:-}"; then
  md=$(printf '%s\n' "${LOAD_D[@]}" | median)
  r5=$(calc %.2f "$md / $me")
  row 5a "$w5a" "within 20% of (c): ratio ≥ 0.80" "$(thousands "$md") jobs/s (rounds: ${LOAD_D[*]}); ratio deep/empty **$r5**" "$(cmp_met "$r5" ">=" 0.8)"
else
  error_row 5a "$w5a" "within 20% of (c): ratio ≥ 0.80" "the store was not filled or a round failed"
fi
w5b="Depth: \`jobq list --limit 50\`, start to exit, median of $QUERY_N"
w5c="Depth: \`jobq show ID\` (random ids), start to exit, median of $QUERY_N"
if ((DEPTH_OK && ${#LIST_MS[@]} == QUERY_N && ${#SHOW_MS[@]} == QUERY_N)); then
  ml=$(printf '%s\n' "${LIST_MS[@]}" | median)
  ms=$(printf '%s\n' "${SHOW_MS[@]}" | median)
  row 5b "$w5b" "< 20 ms" "**$(calc %.1f "$ml") ms**" "$(cmp_met "$ml" "<" 20)"
  row 5c "$w5c" "< 20 ms" "**$(calc %.1f "$ms") ms**" "$(cmp_met "$ms" "<" 20)"
else
  error_row 5b "$w5b" "< 20 ms" "the store was not filled or a query failed"
  error_row 5c "$w5c" "< 20 ms" "the store was not filled or a query failed"
fi
w5d="Depth: jobqd VmRSS after the above (peak VmHWM in brackets)"
if ((DEPTH_OK)) && isnum "${D_RSS:-}"; then
  row 5d "$w5d" "< 64 MiB" "**$(calc %.1f "$D_RSS / 1024") MiB** (peak $(calc %.1f "$D_HWM / 1024") MiB)" \
    "$(cmp_met "$D_RSS" "<" $((64 * 1024)))"
  ckpt=
  if [[ ${D_CKPT:-} =~ ^[0-9]+\|([0-9]+)\|([0-9]+)$ ]]; then
    ckpt="; a checkpoint from another connection (\`PRAGMA wal_checkpoint(PASSIVE)\`) then copied $(thousands "${BASH_REMATCH[2]}") of $(thousands "${BASH_REMATCH[1]}") WAL frames"
  fi
  row 5e "Depth: the store's files (jobq.db + -wal + -shm) at that point" "— (reported)" \
    "$(calc %.0f "$D_FILES / 1048576") MiB, of which the WAL $(calc %.0f "$D_WAL / 1048576") MiB$ckpt" "—"
else
  error_row 5d "$w5d" "< 64 MiB" "the store was not filled"
fi
w5f="Depth: query plans of the claim (claim_pending: busy count, due update, pending select; next_due_ns), \`EXPLAIN QUERY PLAN\` on the deep store"
if ((!HAVE_SQLITE)); then
  row 5f "$w5f" "index (no SCAN)" "not measured: the sqlite3 shell is not installed$( ((SMOKE)) && echo " (a smoke run installs nothing)")" "—"
elif ((${#PLANS[@]} == 4)) && ! printf '%s\n' "${PLANS[@]}" | grep -q 'error:'; then
  if printf '%s\n' "${PLANS[@]}" | grep -q ': SCAN'; then met=no; else met=yes; fi
  row 5f "$w5f" "index (no SCAN)" "$(printf '%s; ' "${PLANS[@]}" | sed 's/; $//')" "$met" text
else
  error_row 5f "$w5f" "index (no SCAN)" "${PLANS[*]:-no plans}"
fi

# ====================================================== row 6: many running
w6="Many running: $(thousands "$MANY_N") containers running (simulator, tests/bench/many_running.sh), jobqd CPU over ${MANY_S} s between events"
log "row 6: many_running.sh $MANY_N $MANY_S"
if out=$(SETTLE_S=$MANY_SETTLE JOBQD_ARGS="--config /dev/null" timeout $((SMOKE ? 90 : 600)) \
  bash "$ROOT/tests/bench/many_running.sh" "$MANY_N" "$MANY_S" 2>"$WORK/many_running.log") &&
  cpu=$(jq -r .cpu_percent_of_one_core <<<"$out") && isnum "$cpu" &&
  [[ $(jq -r .running <<<"$out") -eq $MANY_N ]]; then
  row 6a "$w6" "< 2 % of one core" "**$cpu %**" "$(cmp_met "$cpu" "<" 2)"
  row 6b "Many running: jobqd VmRSS with $(thousands "$MANY_N") running" "— (reported)" \
    "$(calc %.1f "$(jq -r .rss_kb <<<"$out") / 1024") MiB" "—"
else
  error_row 6a "$w6" "< 2 % of one core" "many_running.sh failed"
  error_row 6b "Many running: jobqd VmRSS with $(thousands "$MANY_N") running" "— (reported)" "many_running.sh failed"
fi

# ====================================================== row 7b: CPU per job
w7b="jobqd CPU time (utime+stime) per 1,000 jobs run: $(thousands "$CPU_JOBS") jobs of 10 ms (simulator), batch enqueue to \`jobq wait\`"
cpu_per_jobs() {  # sets CPU_MS (per 1,000 jobs) and WALL
  local c0 c1 t0 t1
  start_jobqd C --engine "$SIM" --max-running 0 || return 1
  jobq_at C app create run --image engine-sim/bench:latest --max-running 0 >/dev/null || return 1
  awk -v n="$CPU_JOBS" 'BEGIN { for (i = 0; i < n; i++) print "{\"app\":\"run\",\"command\":[\"run\"]}" }' >"$WORK/cpu.jsonl"
  sleep "$SETTLE_S"
  c0=$(cpu_ticks "$PID_C") || return 1
  t0=$(now)
  timeout 120 env JOBQ_SOCKET="$WORK/C.sock" "$JOBQ" enqueue --batch "$WORK/cpu.jsonl" >"$WORK/cpu.ids" || return 1
  # shellcheck disable=SC2046
  timeout 300 env JOBQ_SOCKET="$WORK/C.sock" "$JOBQ" wait --timeout 290s $(<"$WORK/cpu.ids") >/dev/null || return 1
  t1=$(now)
  c1=$(cpu_ticks "$PID_C") || return 1
  CPU_MS=$(calc %.0f "($c1 - $c0) * 1000 / $CLK_TCK * 1000 / $CPU_JOBS")
  WALL=$(calc %.1f "$t1 - $t0")
}
CPU_MS='' WALL=''
cpu_per_jobs
stop_jobqd C
if isnum "${CPU_MS:-}"; then
  real=
  if [[ -s $WORK/drain.jobqd.ticks ]]; then
    n=$(wc -l <"$WORK/drain.jobqd.ticks")
    real="; on the real dockerd, over the $((n * DRAIN_N)) jobs of row 1's jobq rounds (inspect, output, removal included): $(awk -v hz="$CLK_TCK" -v jobs="$((n * DRAIN_N))" '{ t += $1 } END { printf "%.0f", t * 1000 / hz * 1000 / jobs }' "$WORK/drain.jobqd.ticks") ms per 1,000 jobs"
  fi
  row 7b "$w7b" "— (reported)" "**$CPU_MS ms** of CPU per 1,000 jobs ($CPU_JOBS jobs in $WALL s)$real" "—"
else
  error_row 7b "$w7b" "— (reported)" "the jobs did not all run"
fi
# ====================================================== row 8: abusive clients
# A real unprivileged user (created here, removed after) opens ABUSE_CLIENTS
# connections, each sending `list` (limit 0) over ABUSE_JOBS jobs of 3 KB env
# and never reading; meanwhile another user's `jobq status`, ABUSE_SAMPLES
# times, and jobqd's VmRSS.
w8="Abusive clients: $ABUSE_CLIENTS connections of one user each send \`list\` over $(thousands "$ABUSE_JOBS") jobs of 3 KB env and never read (simulator engine); jobqd's peak VmRSS over its baseline, and another user's \`jobq status\`, $ABUSE_SAMPLES samples"
abusive_clients() {  # sets A_BASE A_PEAK A_P50 A_MAX (kB, kB, ms, ms)
  local i ms r t0 samples=()
  getent group jobq-bench-abuse >/dev/null || groupadd jobq-bench-abuse || return 1
  for u in jobq-bench-abuser jobq-bench-other; do
    getent passwd $u >/dev/null || useradd --no-create-home --shell /usr/sbin/nologin -G jobq-bench-abuse $u || return 1
  done
  chmod 711 "$WORK"
  start_jobqd Z --engine "$SIM" --socket-group jobq-bench-abuse || return 1
  jobq_at Z app create t --image engine-sim/bench:latest >/dev/null && jobq_at Z app pause t >/dev/null || return 1
  awk -v n="$ABUSE_JOBS" -v e="$(head -c 3000 /dev/zero | tr '\0' x)" \
    'BEGIN { for (i = 0; i < n; i++) printf "{\"app\":\"t\",\"command\":[\"true\"],\"env\":{\"E\":\"%s\"}}\n", e }' >"$WORK/abuse.jsonl"
  timeout 120 env JOBQ_SOCKET="$WORK/Z.sock" "$JOBQ" enqueue --batch "$WORK/abuse.jsonl" >/dev/null || return 1
  printf '{"v":1,"cmd":"list","args":{"limit":0}}\n' >"$WORK/abuse.req"
  chmod 644 "$WORK/abuse.req"
  sleep "$SETTLE_S"
  A_BASE=$(awk '/^VmRSS/ {print $2}' "/proc/$PID_Z/status")
  A_PEAK=$A_BASE
  for ((i = 0; i < ABUSE_CLIENTS; i++)); do
    # Sends the request, then holds the connection without reading (-u).
    setpriv --reuid jobq-bench-abuser --regid "$(id -g jobq-bench-abuser)" --init-groups \
      sh -c '(cat "$1"; sleep "$3") | timeout -s KILL "$3" socat -u - "UNIX-CONNECT:$2"' \
      sh "$WORK/abuse.req" "$WORK/Z.sock" "$ABUSE_HOLD_S" 2>/dev/null &
    A_PIDS+=($!)
  done
  sleep 1
  for ((i = 0; i < ABUSE_SAMPLES; i++)); do
    t0=$(now)
    setpriv --reuid jobq-bench-other --regid "$(id -g jobq-bench-other)" --init-groups \
      env JOBQ_SOCKET="$WORK/Z.sock" timeout 60 "$JOBQ" status >/dev/null || return 1
    samples+=("$(calc %.1f "($(now) - $t0) * 1000")")
    r=$(awk '/^VmRSS/ {print $2}' "/proc/$PID_Z/status")
    ((r > A_PEAK)) && A_PEAK=$r
    sleep 0.25
  done
  A_P50=$(printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  A_MAX=$(printf '%s\n' "${samples[@]}" | sort -n | tail -n 1)
}
if (($(id -u) != 0)); then
  row 8 "$w8" "< 64 MiB; < 1000 ms" "not measured: needs root to create the test users" "—"
else
  log "row 8: abusive clients"
  A_BASE='' A_PEAK='' A_P50='' A_MAX='' A_PIDS=()
  abusive_clients || log "row 8: a step failed"
  ((${#A_PIDS[@]} == 0)) || wait "${A_PIDS[@]}" 2>/dev/null || true  # each ends after ABUSE_HOLD_S
  stop_jobqd Z
  for u in jobq-bench-abuser jobq-bench-other; do userdel $u 2>/dev/null; done
  groupdel jobq-bench-abuse 2>/dev/null
  chmod 700 "$WORK"
  if isnum "${A_MAX:-}" && isnum "${A_PEAK:-}"; then
    grown=$(calc %.1f "($A_PEAK - $A_BASE) / 1024")
    met=no
    [[ $(cmp_met "$grown" "<" 64) == yes && $(cmp_met "$A_MAX" "<" 1000) == yes ]] && met=yes
    row 8 "$w8" "growth < 64 MiB (--max-user-buffer); status max < 1000 ms" \
      "RSS **+$grown MiB** (baseline $(calc %.1f "$A_BASE / 1024") MiB, peak $(calc %.1f "$A_PEAK / 1024") MiB); status p50 **$A_P50 ms**, max **$A_MAX ms**" "$met"
  else
    error_row 8 "$w8" "growth < 64 MiB; status max < 1000 ms" "the clients or the samples failed"
  fi
fi

stop_pid "$SIM_PID" 5
forget_pid "$SIM_PID"

# ---------------------------------------------------------------- the table
FSYNC1=$(fsync_ms) LOAD1=$(loadavg)
# Rows in order 1..8 (7a was measured early, with the other real-Docker rows).
mapfile -t ROWS < <(printf '%s\n' "${ROWS[@]}" | sort -t'|' -k2,2bV -s)
table() {
  printf '%s\n' "${HEADER[@]}"
  echo "- fsync: one 4 KiB write with O_DSYNC (\`dd if=/dev/zero of=FILE bs=4k count=200 oflag=dsync\`, FILE beside the state directories) took ${FSYNC0:-?} ms at the start, ${FSYNC1:-?} ms at the end"
  echo "- The machine is shared: load average (1 min) ${LOAD0} at the start, ${LOAD1} at the end; the run took $SECONDS s"
  echo
  echo "| # | Measure | Target | Measured | Met |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
}
table
[[ -n $OUT ]] && table >"$OUT"
if ((ERRORS)); then
  log "$ERRORS measurement(s) could not be taken"
  exit 1
fi
exit 0
