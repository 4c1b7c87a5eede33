#!/usr/bin/env bash
# Whose files jobq trusts. jobqd refuses a state directory that is not its
# own, does not follow a link planted at its lock file, creates its database
# 0600 (and tightens an existing one), and refuses a socket path that another
# user holds. The client refuses a socket (or its directory) owned by anyone
# but root or itself, so an impostor cannot capture requests or answer
# `wait` with a false exit code. Real users: alice uses jobq, mallory attacks.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root to create test users" >&2; exit 125; }
impostor_pids=() fallback_dir=
extra_cleanup() {
  local p
  for p in "${impostor_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  [[ -z $fallback_dir ]] || rm -rf "$fallback_dir"
}
test_user jobq-test-alice
test_user jobq-test-mallory
chmod 755 "$WORK"

# jobqd SOCKET STATE_DIR: a jobqd expected to refuse to start; prints its output.
refused_start() {
  local rc=0 out
  out=$(timeout 20 "$JOBQD" --config /dev/null --socket "$1" --state-dir "$2" 2>&1 </dev/null) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "jobqd started (rc $rc) with socket $1 and state $2: $out"
  echo "$out"
}

# A state directory that belongs to another user, or that others may write in.
mkdir -p "$WORK/theirs" "$WORK/open"
chown jobq-test-mallory "$WORK/theirs"
chmod 700 "$WORK/theirs"
out=$(refused_start "$WORK/s1.sock" "$WORK/theirs")
[[ $out == *"belongs to uid $(id -u jobq-test-mallory)"* ]] || fail "state directory of another user: $out"
chmod 777 "$WORK/open"
out=$(refused_start "$WORK/s2.sock" "$WORK/open")
[[ $out == *"writable by others"* ]] || fail "world-writable state directory: $out"

# A socket directory others may write in (not sticky): they could replace it.
mkdir -p "$WORK/opensock"
chmod 777 "$WORK/opensock"
out=$(refused_start "$WORK/opensock/jobq.sock" "$WORK/s4")
[[ $out == *"socket's directory $WORK/opensock is writable by others, who could replace the socket"* ]] ||
  fail "world-writable socket directory: $out"

# A link planted at the lock file, pointing at a root-only file.
mkdir -m 700 "$WORK/linked"
echo "root's secret" >"$WORK/secret"
chmod 600 "$WORK/secret"
ln -s "$WORK/secret" "$WORK/linked/jobqd.lock"
out=$(refused_start "$WORK/s3.sock" "$WORK/linked")
[[ $out == *"symbolic link"* ]] || fail "a link at jobqd.lock: $out"
assert_eq "root's secret" "$(cat "$WORK/secret")" "the link's target after jobqd refused it"

# The database is born 0600; one made looser by hand is made private again.
start_daemon
assert_eq 600 "$(stat -c %a "$WORK/state/jobq.db")" "a new database's mode"
stop_daemon
chmod 644 "$WORK/state/jobq.db"
start_daemon
assert_eq 600 "$(stat -c %a "$WORK/state/jobq.db")" "an existing database's mode"
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null
stop_daemon

# An impostor in a sticky world-writable directory holds the socket path.
mkdir -m 1777 "$WORK/shared"
impostor() {  # socket-path: as mallory, answers every request "succeeded, exit 0"
  as_argv jobq-test-mallory
  "${AS[@]}" socat "UNIX-LISTEN:$1,fork,mode=777" \
    SYSTEM:"echo '{\"v\":1,\"ok\":true,\"result\":{\"jobs\":[]}}'" </dev/null >/dev/null 2>&1 &
  impostor_pids+=($!)
  for _ in $(seq 1 50); do [[ -S $1 ]] && return 0; sleep 0.1; done
  fail "the impostor did not listen on $1"
}
impostor "$WORK/shared/jobq.sock"
out=$(refused_start "$WORK/shared/jobq.sock" "$WORK/state")
[[ $out == *"impersonating"* ]] || fail "jobqd on a path another user holds: $out"
for who in root jobq-test-alice; do
  rc=0
  if [[ $who == root ]]; then
    out=$(JOBQ_SOCKET=$WORK/shared/jobq.sock "$JOBQ" status 2>&1) || rc=$?
  else
    out=$(as "$who" env JOBQ_SOCKET="$WORK/shared/jobq.sock" "$JOBQ" status 2>&1) || rc=$?
  fi
  assert_eq 69 "$rc" "$who's client on an impostor's socket"
  [[ $out == *"refusing the socket"*"impersonating"* ]] || fail "$who's refusal: $out"
done

# The client's default for a user without XDG_RUNTIME_DIR: /tmp/jobq-UID,
# made first by mallory.
fallback_dir=/tmp/jobq-$(id -u jobq-test-alice)
rm -rf "$fallback_dir"
as jobq-test-mallory mkdir -m 755 "$fallback_dir"
impostor "$fallback_dir/jobq.sock"
rc=0; out=$(as jobq-test-alice env -u JOBQ_SOCKET -u XDG_RUNTIME_DIR "$JOBQ" wait 1 2>&1) || rc=$?
assert_eq 69 "$rc" "alice's jobq wait against mallory's fallback directory"
[[ $out == *"its directory $fallback_dir belongs to uid $(id -u jobq-test-mallory)"* ]] ||
  fail "alice's refusal: $out"

# jobqd's own socket in its own directory is trusted by other users.
start_daemon
as jobq-test-alice env JOBQ_SOCKET="$JOBQ_SOCKET" "$JOBQ" status >/dev/null 2>"$WORK/err" ||
  grep -qi "permission denied" "$WORK/err" || fail "alice refused jobqd's own socket: $(cat "$WORK/err")"
echo "PASS"
