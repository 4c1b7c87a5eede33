#!/usr/bin/env bash
# jobqd as a systemd service, tested without systemd running:
# - socket activation: a listening socket passed as fd 3 (LISTEN_FDS=1,
#   LISTEN_PID) is served instead of one of jobqd's own, a client that
#   connected before jobqd was up is answered, and the socket file is left
#   in place at exit; by systemd_helper, and by systemd-socket-activate when
#   installed; a passed socket of the wrong kind is refused;
# - readiness: READY=1 arrives on $NOTIFY_SOCKET (a path, and an abstract
#   name) when jobqd answers, STOPPING=1 when it stops;
# - logging: with stderr being the stream JOURNAL_STREAM names, every line
#   is "<priority>text" (<4> a warning, <6> info, <3> a bad configuration)
#   without a timestamp; otherwise timestamped "[...] [jobqd] [level]" lines;
# - packaging/jobqd.service and jobqd.socket pass `systemd-analyze verify`
#   (when installed; ExecStart= pointed at the built jobqd); the socket is
#   not stopped with the service (no PartOf=), so that it keeps listening
#   while jobqd restarts.
# Needs no Docker engine: jobqd is pointed at a socket nobody serves.
set -euo pipefail

: "${JOBQ:?path to the jobq binary}"
: "${JOBQD:?path to the jobqd binary}"
: "${HOLD_CLIENTS:?path to the hold_clients helper (systemd_helper is next to it)}"
HELPER=$(dirname "$HOLD_CLIENTS")/systemd_helper
SRC=$(cd "$(dirname "$0")/../.." && pwd)
[[ -x $HELPER ]] || { echo "FAIL: $HELPER is not built" >&2; exit 1; }

WORK=$(mktemp -d /tmp/jobq-it-systemd.XXXXXX)
PIDS=()
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  local p
  for p in "${PIDS[@]}"; do
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]]; then
    for f in "$WORK"/*.log "$WORK"/*.out; do
      [[ -f $f ]] || continue
      echo "---- $(basename "$f") ----" >&2
      tail -n 30 "$f" >&2
    done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

# jobqd's options for every run here: its own state, no engine, no system config.
daemon_args() {  # NAME
  echo --state-dir "$WORK/state-$1" --engine "unix://$WORK/no-engine.sock" --config /dev/null --log-level debug
}

# stop PID: SIGTERM, then waits; its exit status in STOPPED_RC.
stop() {
  STOPPED_RC=0
  kill -TERM "$1"
  wait "$1" || STOPPED_RC=$?
}

# wait_for_line FILE LINE [seconds]: until FILE has exactly that line.
wait_for_line() {
  for _ in $(seq 1 $((${3:-10} * 20))); do
    grep -qxF "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "'$2' did not appear in $(basename "$1") within ${3:-10} s"
}

# 1. Socket activation by systemd_helper, with an abstract NOTIFY_SOCKET, as
#    systemd does both at once.
notify=@jobq-it-systemd-$$-$RANDOM
"$HELPER" notify-recv "$notify" 120 >"$WORK/notify1.out" &
PIDS+=($!)
wait_for_line "$WORK/notify1.out" "# bound"
# shellcheck disable=SC2046
NOTIFY_SOCKET=$notify setsid "$HELPER" listen "$WORK/activated.sock" -- \
  "$JOBQD" $(daemon_args one) --socket "$WORK/not-this.sock" >"$WORK/jobqd1.log" 2>&1 </dev/null &
pid=$!
PIDS+=("$pid")
wait_for_line "$WORK/jobqd1.log" "systemd_helper: listening on $WORK/activated.sock"
# At once, no waiting for jobqd: the socket listens before jobqd runs, so a
# client's connection waits in its backlog and is answered once jobqd is up.
JOBQ_SOCKET=$WORK/activated.sock timeout 30 "$JOBQ" status >/dev/null ||
  fail "jobq status over the passed socket"
wait_for_line "$WORK/notify1.out" "READY=1"
socket=$(JOBQ_SOCKET=$WORK/activated.sock "$JOBQ" status --json | jq -r .status.socket)
[[ $socket == "$WORK/activated.sock" ]] || fail "jobq status reports the socket '$socket'"
[[ ! -e $WORK/not-this.sock ]] || fail "jobqd made its own socket although one was passed"
grep -q "passed by systemd" "$WORK/jobqd1.log" || fail "jobqd's log does not say the socket was passed"
stop "$pid"
[[ $STOPPED_RC == 0 ]] || fail "jobqd exited $STOPPED_RC on SIGTERM"
wait_for_line "$WORK/notify1.out" "STOPPING=1"
[[ -S $WORK/activated.sock ]] || fail "jobqd removed the passed socket's file (it is systemd's)"
echo "ok: socket activation (systemd_helper), READY=1 and STOPPING=1 on an abstract NOTIFY_SOCKET"

# 2. Readiness on a NOTIFY_SOCKET path, jobqd making its own socket: once
#    READY=1 arrives, jobqd answers (no retry).
"$HELPER" notify-recv "$WORK/notify.sock" 120 >"$WORK/notify2.out" &
PIDS+=($!)
wait_for_line "$WORK/notify2.out" "# bound"
# shellcheck disable=SC2046
NOTIFY_SOCKET=$WORK/notify.sock setsid "$JOBQD" $(daemon_args two) --socket "$WORK/own.sock" \
  >"$WORK/jobqd2.log" 2>&1 </dev/null &
pid=$!
PIDS+=("$pid")
wait_for_line "$WORK/notify2.out" "READY=1"
JOBQ_SOCKET=$WORK/own.sock "$JOBQ" status >/dev/null || fail "jobqd did not answer right after READY=1"
grep -q "^STATUS=listening on $WORK/own.sock\$" "$WORK/notify2.out" || fail "no STATUS= with READY=1"
if grep -qx "STOPPING=1" "$WORK/notify2.out"; then fail "STOPPING=1 before stopping"; fi
stop "$pid"
[[ $STOPPED_RC == 0 ]] || fail "jobqd exited $STOPPED_RC on SIGTERM"
wait_for_line "$WORK/notify2.out" "STOPPING=1"
[[ ! -e $WORK/own.sock ]] || fail "jobqd left its own socket behind"
echo "ok: READY=1 and STOPPING=1 on a NOTIFY_SOCKET path"

# 3. A passed socket that is not a listening stream socket is refused.
rc=0
# shellcheck disable=SC2046
"$HELPER" listen "$WORK/dgram.sock" --dgram -- "$JOBQD" $(daemon_args three) >"$WORK/jobqd3.log" 2>&1 </dev/null || rc=$?
[[ $rc == 1 ]] || fail "jobqd given a datagram socket exited $rc, not 1"
grep -q "is not a stream socket" "$WORK/jobqd3.log" || fail "no reason given for refusing a datagram socket"
[[ ! -e $WORK/state-three/jobq.db ]] || fail "jobqd opened its store before checking the passed socket"
echo "ok: a passed datagram socket is refused"

# 4. systemd's own tool for socket activation, when installed: it execs
#    jobqd on the first connection.
if command -v systemd-socket-activate >/dev/null; then
  # shellcheck disable=SC2046
  setsid systemd-socket-activate -l "$WORK/sa.sock" "$JOBQD" $(daemon_args four) \
    >"$WORK/jobqd4.log" 2>&1 </dev/null &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do [[ -S $WORK/sa.sock ]] && break; sleep 0.05; done
  JOBQ_SOCKET=$WORK/sa.sock timeout 30 "$JOBQ" status >/dev/null || fail "jobq status via systemd-socket-activate"
  grep -q "passed by systemd" "$WORK/jobqd4.log" || fail "jobqd did not serve systemd-socket-activate's socket"
  stop "$pid"
  [[ $STOPPED_RC == 0 ]] || fail "jobqd (via systemd-socket-activate) exited $STOPPED_RC on SIGTERM"
  echo "ok: socket activation by systemd-socket-activate"
else
  echo "skipped: systemd-socket-activate is not installed"
fi

# 5. Logging. Without JOURNAL_STREAM (runs 1 and 2): jobqd's own timestamps.
stamp='^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\] \[jobqd\] \[(debug|info|warning|error|critical)\] '
grep -Eq "${stamp}jobqd .* listening on $WORK/own.sock" "$WORK/jobqd2.log" || fail "no timestamped 'listening' line"
if grep -Ev "$stamp" "$WORK/jobqd1.log" | grep -v '^systemd_helper: '; then
  fail "jobqd wrote lines without its timestamp and level outside the journal"
fi
# With JOURNAL_STREAM naming its stderr, as systemd sets it: priorities, no
# timestamps. The engine is unreachable here: a warning.
: >"$WORK/jobqd5.log"
journal=$(stat -c '%d:%i' "$WORK/jobqd5.log")
# shellcheck disable=SC2046
JOURNAL_STREAM=$journal setsid "$JOBQD" $(daemon_args five) --socket "$WORK/journal.sock" \
  2>>"$WORK/jobqd5.log" >/dev/null </dev/null &
pid=$!
PIDS+=("$pid")
for _ in $(seq 1 200); do grep -q '^<6>jobqd .* listening on' "$WORK/jobqd5.log" && break; sleep 0.05; done
grep -Eq "^<6>jobqd .* listening on $WORK/journal.sock" "$WORK/jobqd5.log" || fail "no '<6>' line saying jobqd listens"
stop "$pid"
grep -q '^<4>.*jobs are accepted and will start when the engine answers' "$WORK/jobqd5.log" ||
  fail "the unreachable engine is not a <4> warning"
grep -q '^<7>' "$WORK/jobqd5.log" || fail "no <7> debug line at --log-level debug"
if grep -Ev '^<[0-7]>' "$WORK/jobqd5.log"; then fail "lines without a priority prefix in the journal"; fi
if grep -E '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}|\[jobqd\]|\[(info|warning)\]' "$WORK/jobqd5.log"; then
  fail "jobqd wrote its own timestamp, name or level to the journal"
fi
printf 'no_such_key = 1\n' >"$WORK/bad.conf"
: >"$WORK/jobqd5b.log"
rc=0
journal=$(stat -c '%d:%i' "$WORK/jobqd5b.log")
JOURNAL_STREAM=$journal "$JOBQD" --config "$WORK/bad.conf" 2>>"$WORK/jobqd5b.log" >/dev/null </dev/null || rc=$?
[[ $rc == 64 ]] || fail "a bad configuration file: exit $rc, not 64"
grep -q "^<3>jobqd: .*bad.conf" "$WORK/jobqd5b.log" || fail "a bad configuration file is not a <3> error: $(cat "$WORK/jobqd5b.log")"
echo "ok: journal priorities under JOURNAL_STREAM, timestamps otherwise"

# 6. The units.
if command -v systemd-analyze >/dev/null; then
  mkdir "$WORK/units"
  cp "$SRC/packaging/jobqd.socket" "$WORK/units/"
  sed "s|^ExecStart=/usr/sbin/jobqd|ExecStart=$JOBQD|" "$SRC/packaging/jobqd.service" >"$WORK/units/jobqd.service"
  grep -q "^ExecStart=$JOBQD\$" "$WORK/units/jobqd.service" || fail "jobqd.service has no ExecStart=/usr/sbin/jobqd"
  # --man=no: the manual pages are not installed here.
  systemd-analyze verify --man=no "$WORK/units/jobqd.service" "$WORK/units/jobqd.socket" >"$WORK/verify.log" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$WORK/verify.log")"
  [[ ! -s $WORK/verify.log ]] || fail "systemd-analyze verify warns: $(cat "$WORK/verify.log")"
  echo "ok: systemd-analyze verify"
else
  echo "skipped: systemd-analyze is not installed"
fi
for key in "Type=notify" "Restart=on-failure" "ExecStart=/usr/sbin/jobqd" "ProtectSystem=strict" \
  "NoNewPrivileges=yes" "StateDirectory=jobq" "RuntimeDirectory=jobq"; do
  grep -qx "$key" "$SRC/packaging/jobqd.service" || fail "jobqd.service lacks $key"
done
for key in "ListenStream=/run/jobq/jobq.sock" "SocketMode=0660" "SocketGroup=jobq"; do
  grep -qx "$key" "$SRC/packaging/jobqd.socket" || fail "jobqd.socket lacks $key"
done
# The socket outlives jobqd's restarts: the service needs it and starts after
# it, the socket is not part of the service (PartOf= would propagate `systemctl
# restart jobqd` to it and close it meanwhile), and the service does not
# pull it into its own enable/restart with Also=.
grep -qx "Requires=jobqd.socket" "$SRC/packaging/jobqd.service" || fail "jobqd.service lacks Requires=jobqd.socket"
grep -Eqx "After=(.* )?jobqd.socket( .*)?" "$SRC/packaging/jobqd.service" || fail "jobqd.service is not After=jobqd.socket"
if grep -E "^(PartOf|BindsTo)=" "$SRC/packaging/jobqd.socket"; then
  fail "jobqd.socket is stopped or restarted with jobqd.service"
fi
if grep -E "^Also=" "$SRC/packaging/jobqd.service"; then fail "jobqd.service has Also= (restarts the socket on upgrades)"; fi
echo "ok: the socket unit is independent of the service's restarts"
echo "PASS"
