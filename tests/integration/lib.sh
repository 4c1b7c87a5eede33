# Sourced by every integration test. Each test gets its own jobqd (own socket,
# state directory and instance id) against the real dockerd, and removes what
# it made: its daemon (by pid) and the containers labelled with its run id.
# Exit 125 means "cannot run here" (no engine), which CTest reports as a skip;
# with JOBQ_REQUIRE_DOCKER=1 (the test command sets it) that is a failure.
set -euo pipefail

: "${JOBQ:?path to the jobq binary}"
: "${JOBQD:?path to the jobqd binary}"
TEST_IMAGE=${JOBQ_TEST_IMAGE:-jobq-test-busybox:latest}
TEST_NAME=$(basename "$0" .sh)
# Time limits are multiplied by this: 3 in a sanitizer build (JOBQ_SANITIZED=1).
SANITIZED=${JOBQ_SANITIZED:-0}
TIME_FACTOR=$((SANITIZED == 1 ? 3 : 1))

if ! docker info >/dev/null 2>&1; then
  if [[ ${JOBQ_REQUIRE_DOCKER:-0} == 1 ]]; then
    echo "FAIL: no Docker engine answers" >&2
    exit 1
  fi
  echo "SKIP: no Docker engine answers" >&2
  exit 125
fi
if ! docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
  echo "FAIL: test image $TEST_IMAGE is missing (packaging/make-test-image.sh builds it)" >&2
  exit 1
fi

WORK=$(mktemp -d "/tmp/jobq-it-$TEST_NAME.XXXXXX")
RUN_ID=$(basename "$WORK")
export JOBQ_SOCKET=$WORK/jobq.sock
DAEMON_PID=
DAEMON_LOG=$WORK/jobqd.log

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

assert_eq() {  # expected actual what
  [[ $1 == "$2" ]] || fail "$3: expected '$1', got '$2'"
}

cleanup() {
  local rc=$?
  stop_daemon || true
  if declare -F extra_cleanup >/dev/null; then extra_cleanup || true; fi
  # After extra_cleanup, which ends the processes the test ran as its users.
  local u g
  for u in "${TEST_USERS[@]}"; do userdel "$u" 2>/dev/null || true; done
  for g in "${TEST_GROUPS[@]}"; do groupdel "$g" 2>/dev/null || true; done
  local ids instance
  ids=$(docker ps -aq --filter "label=jobq-test-run=$RUN_ID" 2>/dev/null || true)
  # And every container of this test's jobqd (warm ones carry no job's labels).
  instance=$(sqlite3 "$WORK/state/jobq.db" "SELECT value FROM meta WHERE key='instance'" 2>/dev/null || true)
  [[ -z $instance ]] || ids+=" $(docker ps -aq --filter "label=jobq.instance=$instance" 2>/dev/null || true)"
  [[ -z ${ids// /} ]] || docker rm -f $ids >/dev/null 2>&1 || true
  if [[ $rc -ne 0 && $rc -ne 125 && -f $DAEMON_LOG ]]; then
    # Its warnings from every life of jobqd (a kill loop's cause is often
    # far from the end), then the end.
    echo "---- jobqd warnings ($TEST_NAME) ----" >&2
    grep -E '\[(warning|error|critical)\]' "$DAEMON_LOG" | tail -n 40 >&2
    echo "---- jobqd log ($TEST_NAME) ----" >&2
    tail -n 60 "$DAEMON_LOG" >&2
  fi
  [[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# Real unprivileged users for tests of who may do what (root only).
# test_group NAME; test_user NAME [GROUP,...]: made when missing (and removed
# at exit), or an existing user is added to the groups.
TEST_USERS=() TEST_GROUPS=()
test_group() {
  getent group "$1" >/dev/null || { groupadd "$1"; TEST_GROUPS+=("$1"); }
}
test_user() {
  if getent passwd "$1" >/dev/null; then
    [[ -z ${2:-} ]] || usermod -aG "$2" "$1"
  else
    useradd --no-create-home --shell /usr/sbin/nologin ${2:+-G "$2"} "$1"
    TEST_USERS+=("$1")
  fi
}
# as USER COMMAND...: runs it as that user, with the user's groups and this
# test's socket.
as() {
  local user=$1
  shift
  setpriv --reuid "$user" --regid "$(id -g "$user")" --init-groups env JOBQ_SOCKET="$JOBQ_SOCKET" "$@"
}
# as_argv USER: sets AS to that prefix, for a command run in the background:
# "${AS[@]}" CMD & leaves the command's own pid in $! (setpriv and env exec
# it), so extra_cleanup can end it and wait for it before its user goes.
as_argv() { AS=(setpriv --reuid "$1" --regid "$(id -g "$1")" --init-groups env JOBQ_SOCKET="$JOBQ_SOCKET"); }

# start_daemon [jobqd options...]: starts jobqd on this test's socket and state
# directory, detached from our output, and waits until it answers.
start_daemon() {
  setsid "$JOBQD" --config /dev/null --socket "$JOBQ_SOCKET" --state-dir "$WORK/state" --poll-interval 200ms \
    --stop-grace 2s --log-level debug "$@" >>"$DAEMON_LOG" 2>&1 </dev/null &
  DAEMON_PID=$!
  for _ in $(seq 1 100); do
    if "$JOBQ" status >/dev/null 2>&1; then return 0; fi
    kill -0 "$DAEMON_PID" 2>/dev/null || fail "jobqd exited at start"
    sleep 0.1
  done
  fail "jobqd did not answer within 10 s"
}

# stop_daemon [signal]: stops our jobqd and waits; returns its exit status.
stop_daemon() {
  [[ -n $DAEMON_PID ]] || return 0
  local pid=$DAEMON_PID rc=0
  DAEMON_PID=
  kill -"${1:-TERM}" "$pid" 2>/dev/null || return 0
  wait "$pid" || rc=$?
  return $rc
}

# enq APP [jobq enqueue options] -- CMD...: enqueue labelled with this run's id, prints the id.
enq() {
  local app=$1
  shift
  "$JOBQ" enqueue "$app" -q --label "jobq-test-run=$RUN_ID" "$@"
}

job_field() {  # id jq-filter
  "$JOBQ" show "$1" --json | jq -r ".job$2"
}

job_jq() {  # id jq-program over the job
  "$JOBQ" show "$1" --json | jq -r ".job | $2"
}

# Nanoseconds since the epoch of a Docker RFC 3339 time (fraction padded to 9).
to_ns() {
  local t=$1 secs frac
  secs=$(date -u -d "${t%%.*}Z" +%s 2>/dev/null || date -u -d "${t%Z}" +%s)
  frac=0
  if [[ $t == *.* ]]; then
    frac=${t#*.}
    frac=${frac%Z}
    frac=$(printf '%-9s' "$frac" | tr ' ' 0)
  fi
  echo $((secs * 1000000000 + 10#$frac))
}

# wait_state ID STATE [seconds]: until the job is in STATE.
wait_state() {
  local i
  for i in $(seq 1 $((${3:-30} * 10))); do
    [[ $(job_field "$1" .state) == "$2" ]] && return 0
    sleep 0.1
  done
  fail "job $1 did not reach state $2 (it is $(job_field "$1" .state))"
}

# await_crash POINT: until our jobqd, started with JOBQD_CRASH_AT=POINT, has
# killed itself there (30 s at most); checks that it died of SIGKILL and said where.
await_crash() {
  local rc=0
  for _ in $(seq 1 300); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$DAEMON_PID" 2>/dev/null && fail "$1: jobqd did not crash"
  wait "$DAEMON_PID" || rc=$?
  DAEMON_PID=
  assert_eq 137 "$rc" "$1: jobqd's exit status (SIGKILL)"
  grep -q "JOBQD_CRASH_AT=$1" "$DAEMON_LOG" || fail "$1: no crash message in the log"
}

instance_id() { "$JOBQ" status --json | jq -r .status.instance; }

# engine_events SINCE EVENT LABEL=VALUE...: how many such events the engine
# saw since SINCE (unix seconds) for containers with all of these labels.
engine_events() {
  local since=$1 event=$2
  shift 2
  local filters=(--filter "event=$event" --filter type=container)
  for l in "$@"; do filters+=(--filter "label=$l"); done
  docker events --since "$since" --until "$(date +%s.%N)" "${filters[@]}" --format '{{.ID}}' | wc -l
}

# kill_loop APP JOBS KILLS [jobqd options]: enqueues about JOBS jobs of APP
# (each sleeps 0-2 s and exits 0-3, at random), half at first and the rest
# between KILLS rounds of SIGKILL to jobqd, each followed by a restart with
# those options. EXPECT (job id -> its exit code) holds the acknowledged ones.
declare -A EXPECT
kill_loop() {
  local app=$1 jobs=$2 kills=$3 k
  shift 3
  enqueue_some() {
    local n=$1 i code id
    for ((i = 0; i < n; i++)); do
      code=$((RANDOM % 4))
      if id=$(enq "$app" -- sh -c "sleep $((RANDOM % 3)); exit $code" 2>/dev/null); then
        EXPECT[$id]=$code
      fi
    done
  }
  enqueue_some $((jobs / 2))
  for ((k = 1; k <= kills; k++)); do
    enqueue_some $((jobs / 2 / kills + 1))
    sleep "0.$((RANDOM % 9 + 1))"
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=
    start_daemon "$@"
  done
}

# kill_loop_ended JOBS KILLS: after kill_loop, at least JOBS were acknowledged;
# waits for all of them and checks each is final with its own exit code and
# one attempt. Sets IDS (the acknowledged job ids).
kill_loop_ended() {
  local jobs=$1 kills=$2 id json code want rc=0
  IDS=("${!EXPECT[@]}")
  ((${#IDS[@]} >= jobs)) || fail "only ${#IDS[@]} jobs were acknowledged"
  echo "${#IDS[@]} jobs acknowledged, $kills kills"
  "$JOBQ" wait --timeout 600s "${IDS[@]}" >/dev/null || rc=$?
  [[ $rc -ne 124 ]] || fail "jobs did not finish"
  for id in "${IDS[@]}"; do
    json=$("$JOBQ" show "$id" --json)
    code=${EXPECT[$id]}
    want=$([[ $code == 0 ]] && echo succeeded || echo failed)
    assert_eq "$want" "$(jq -r .job.state <<<"$json")" "state of job $id"
    assert_eq "$code" "$(jq -r .job.exit_code <<<"$json")" "exit code of job $id"
    assert_eq 1 "$(jq '.job.attempts | length' <<<"$json")" "attempts of job $id"
  done
}
