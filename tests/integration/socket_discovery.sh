#!/usr/bin/env bash
# A user's jobq finds the system jobqd when no jobqd of their own answers, as
# docker finds /var/run/docker.sock: here a root jobqd on a socket in a
# root-owned directory made to look like /run/jobq (JOBQ_TEST_SYSTEM_SOCKET,
# which exists for tests only, names it), and a group member with no jobqd of
# their own. Completions find it the same way; when no jobqd answers anywhere,
# the error names every place jobq looked.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root to create test users" >&2; exit 125; }
group=jobq-test-disc
user=jobq-test-dora
test_group $group
test_user $user $group
chmod 755 "$WORK"  # the socket's directory must be reachable by the test user

system_socket=$WORK/run/jobq/jobq.sock
own_runtime=$WORK/runtime-dora  # the user's $XDG_RUNTIME_DIR: no jobqd there
mkdir -p "$own_runtime/jobq" && chown "$user" "$own_runtime" "$own_runtime/jobq"
export JOBQ_SOCKET=$system_socket  # for start_daemon and root's own jobq calls
start_daemon --socket-group $group
assert_eq "root 755" "$(stat -c '%U %a' "$WORK/run/jobq")" "the system-like socket directory"
"$JOBQ" app create disc --image "$TEST_IMAGE" >/dev/null

# The user, as a login shell has them: no JOBQ_SOCKET, their own runtime directory.
as_user() {
  setpriv --reuid $user --regid "$(id -g $user)" --init-groups env -u JOBQ_SOCKET \
    XDG_RUNTIME_DIR="$own_runtime" JOBQ_TEST_SYSTEM_SOCKET="$system_socket" "$@"
}
rc=0; as_user "$JOBQ" --connect-timeout 0 status --json >"$WORK/status.json" 2>"$WORK/err" || rc=$?
assert_eq 0 "$rc" "the user's jobq status with only the system jobqd (stderr: $(cat "$WORK/err"))"
assert_eq "$system_socket" "$(jq -r .status.socket "$WORK/status.json")" "the socket the user's jobq found"
id=$(as_user "$JOBQ" enqueue -q --label "jobq-test-run=$RUN_ID" disc true)
[[ $id =~ ^[0-9]+$ ]] || fail "the user's enqueue printed '$id'"
# Completions look in the same places.
as_user "$JOBQ" __complete -- enqueue "" | grep -qx disc ||
  fail "completion of applications from the system jobqd: $(as_user "$JOBQ" __complete -- enqueue "" 2>&1)"

# A stale socket of the user's own (a jobqd of theirs that died) is passed over.
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$own_runtime/jobq/jobq.sock"
chown $user "$own_runtime/jobq/jobq.sock"
rc=0; as_user "$JOBQ" --connect-timeout 0 status >/dev/null 2>"$WORK/err" || rc=$?
assert_eq 0 "$rc" "past a stale socket of the user's own (stderr: $(cat "$WORK/err"))"

# No jobqd anywhere: exit 69, naming both places.
stop_daemon
rc=0; as_user "$JOBQ" --connect-timeout 0 status 2>"$WORK/err" || rc=$?
assert_eq 69 "$rc" "no jobqd anywhere"
grep -qF "jobqd is not running at $own_runtime/jobq/jobq.sock or at $system_socket" "$WORK/err" ||
  fail "the message does not name every place looked: $(cat "$WORK/err")"
# Completions never wait and stay quiet.
started=$(date +%s)
out=$(as_user "$JOBQ" __complete -- enqueue "" 2>&1) || true
(($(date +%s) - started < 5)) || fail "completion waited for jobqd"
[[ -z $out ]] || fail "completion printed '$out' with no jobqd"
echo "PASS"
