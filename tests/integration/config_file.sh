#!/usr/bin/env bash
# jobqd's configuration file (--config; /etc/jobq/jobqd.conf by default):
# its settings apply, flags override them, both spellings of a key work; a
# missing --config file, an unknown key, a line without '=', a bad value or
# a key set twice stop jobqd with exit code 64 and the file and line, before
# it does anything; the example packaging/jobqd.conf is valid, commented out
# and with every key set.
# Needs no Docker engine: jobqd is pointed at a socket nobody serves.
set -euo pipefail

: "${JOBQ:?path to the jobq binary}"
: "${JOBQD:?path to the jobqd binary}"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

WORK=$(mktemp -d /tmp/jobq-it-config.XXXXXX)
PID=
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  [[ -z $PID ]] || kill -KILL "$PID" 2>/dev/null || true
  if [[ $rc -ne 0 && -f $WORK/jobqd.log ]]; then
    echo "---- jobqd log ----" >&2
    tail -n 30 "$WORK/jobqd.log" >&2
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
NO_ENGINE=unix://$WORK/no-engine.sock

# refused CONFIG-TEXT EXPECTED-STDERR-LINE [jobqd options]: jobqd exits 64,
# says exactly that, and has done nothing (no state directory).
refused() {
  local text=$1 expected=$2
  shift 2
  printf '%s' "$text" >"$WORK/bad.conf"
  local rc=0
  "$JOBQD" --config "$WORK/bad.conf" --state-dir "$WORK/never" --socket "$WORK/never.sock" "$@" \
    >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?
  [[ $rc == 64 ]] || fail "jobqd exited $rc, not 64, for: $text"
  [[ $(cat "$WORK/err") == "$expected" ]] || fail "for: $text
expected: $expected
got:      $(cat "$WORK/err")"
  [[ ! -e $WORK/never && ! -e $WORK/never.sock ]] || fail "jobqd did something before refusing its configuration"
}

# start [jobqd options]: jobqd in the background; waits until it answers on $SOCK.
start() {
  setsid "$JOBQD" "$@" >"$WORK/jobqd.log" 2>&1 </dev/null &
  PID=$!
  for _ in $(seq 1 100); do
    JOBQ_SOCKET=$SOCK "$JOBQ" status >/dev/null 2>&1 && return 0
    kill -0 "$PID" 2>/dev/null || fail "jobqd exited at start: $(tail -n 5 "$WORK/jobqd.log")"
    sleep 0.1
  done
  fail "jobqd did not answer on $SOCK within 10 s"
}

stop() {
  local rc=0
  kill -TERM "$PID"
  wait "$PID" || rc=$?
  PID=
  [[ $rc == 0 ]] || fail "jobqd exited $rc on SIGTERM"
}

status() { JOBQ_SOCKET=$SOCK "$JOBQ" status --json | jq -r ".status$1"; }

# Errors, each naming the file and the line.
rc=0
"$JOBQD" --config "$WORK/missing.conf" --state-dir "$WORK/never" >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc == 64 ]] || fail "a missing --config file: exit $rc"
[[ $(cat "$WORK/err") == "jobqd: $WORK/missing.conf: cannot open: No such file or directory" ]] ||
  fail "a missing --config file: $(cat "$WORK/err")"
f=$WORK/bad.conf
refused $'# settings\n\nmax_running = 2\nsokcet = /x\n' "jobqd: $f:4: unknown key 'sokcet' (did you mean socket?)"
refused $'bogus = 1\n' "jobqd: $f:1: unknown key 'bogus'"
refused $'config = /etc/other.conf\n' "jobqd: $f:1: unknown key 'config'"
refused $'max_running = 2\nmax_running 3\n' "jobqd: $f:2: expected 'key = value', got 'max_running 3'"
refused $'max_running = 2\nmax-running = 3\n' "jobqd: $f:2: 'max_running' is set twice (also at line 1)"
refused $'\nmax_running = lots\n' "jobqd: $f:2: bad value for max_running: Value lots not in range 0 to 100000"
refused $'max_running = 100001\n' "jobqd: $f:1: bad value for max_running: Value 100001 not in range 0 to 100000"
refused $'poll_interval = soon\n' \
  "jobqd: $f:1: bad value for poll_interval: 'soon' is not a duration (e.g. 500ms, 10s, 5m)"
refused $'log_cap = 8Q\n' "jobqd: $f:1: bad value for log_cap: unknown size unit 'Q'"
refused $'keep_containers = yes\n' "jobqd: $f:1: bad value for keep_containers: 'yes' is not true or false"
refused $'log_level = loud\n' "jobqd: $f:1: bad value for log_level: loud not in {trace,debug,info,warn,error}"
refused $'engine = tcp://127.0.0.1:2375\n' \
  "jobqd: $f:1: bad value for engine: engine address 'tcp://127.0.0.1:2375' is not supported: jobqd talks to the engine over a unix:///path socket"
# A bad value is an error even where a flag would override it.
refused $'max_running = -1\n' "jobqd: $f:1: bad value for max_running: Value -1 not in range 0 to 100000" --max-running 3
echo "ok: configuration errors"

# The file's settings apply, in either spelling.
SOCK=$WORK/conf.sock
cat >"$WORK/jobqd.conf" <<EOF
# a test configuration
socket = $WORK/conf.sock
state-dir = $WORK/state
max_running = 7
engine = "$NO_ENGINE"
log-level = debug
keep_containers = true
launch_workers = 2
EOF
start --config "$WORK/jobqd.conf"
[[ $(status .max_running) == 7 ]] || fail "max_running from the file: $(status .max_running)"
[[ $(status .socket) == "$WORK/conf.sock" ]] || fail "socket from the file: $(status .socket)"
[[ -f $WORK/state/jobq.db ]] || fail "state_dir from the file was not used"
grep -q "\[debug\]" "$WORK/jobqd.log" || fail "log_level from the file was not used"
stop
echo "ok: the file's settings apply"

# Flags override the file.
SOCK=$WORK/flag.sock
start --config "$WORK/jobqd.conf" --max-running 3 --socket "$WORK/flag.sock" --log-level info
[[ $(status .max_running) == 3 ]] || fail "--max-running did not override the file: $(status .max_running)"
[[ ! -e $WORK/conf.sock ]] || fail "the file's socket was used despite --socket"
if grep -q "\[debug\]" "$WORK/jobqd.log"; then fail "--log-level did not override the file"; fi
stop
echo "ok: flags override the file"

# The example file: valid as shipped (all commented out) and with every key set.
SOCK=$WORK/example.sock
start --config "$SRC/packaging/jobqd.conf" --socket "$SOCK" --state-dir "$WORK/state" --engine "$NO_ENGINE"
stop
sed -E 's/^#([a-z_]+ =)/\1/' "$SRC/packaging/jobqd.conf" >"$WORK/all-keys.conf"
# Every option of jobqd but --config, --help and --version, once.
"$JOBQD" --help | grep -oE '^ +(-h,)?--[a-z-]+' | sed -E 's/^ +(-h,)?--//' | tr - _ |
  grep -vxE 'config|help|version' | sort >"$WORK/options"
grep -oE '^[a-z_]+' "$WORK/all-keys.conf" | sort >"$WORK/example-keys"
diff "$WORK/options" "$WORK/example-keys" >"$WORK/keys.diff" ||
  fail "the example configuration's keys differ from jobqd's options (<: options, >: example): $(cat "$WORK/keys.diff")"
start --config "$WORK/all-keys.conf" --socket "$SOCK" --state-dir "$WORK/state" --engine "$NO_ENGINE"
stop
echo "ok: the example configuration"
echo "PASS"
