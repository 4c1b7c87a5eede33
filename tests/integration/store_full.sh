#!/usr/bin/env bash
# A full disk: enqueues get a clear error, nothing is launched without its
# committed intent, jobqd keeps running, and it recovers by itself once it can
# write again. The state directory is a small tmpfs. (A read-only store takes
# the same path, SQLITE_READONLY -> `unavailable`; it cannot be staged here:
# the kernel refuses to remount read-only while jobqd has the database open.)
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/state"
mount -t tmpfs -o size=4m,mode=0700 jobq-test "$WORK/state" || { echo "SKIP: cannot mount a tmpfs here" >&2; exit 125; }
extra_cleanup() { umount "$WORK/state" 2>/dev/null || umount -l "$WORK/state"; }
start_daemon
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null
ok=$(enq t -- sh -c 'exit 0')
"$JOBQ" wait --timeout 30s "$ok"

# Disk full.
dd if=/dev/zero of="$WORK/state/filler" bs=64k 2>/dev/null || true
errors=0
for _ in $(seq 1 20); do
  if enq t -- sh -c 'exit 0' >/dev/null 2>"$WORK/err"; then :; else errors=$((errors + 1)); fi
done
((errors > 0)) || fail "no enqueue failed on a full disk"
grep -q "cannot be written" "$WORK/err" || fail "unclear error on a full disk: $(cat "$WORK/err")"
kill -0 "$DAEMON_PID" || fail "jobqd died on a full disk"
rm -f "$WORK/state/filler"
after_full=$(enq t -- sh -c 'exit 2')
rc=0; "$JOBQ" wait --timeout 30s "$after_full" || rc=$?
assert_eq 2 "$rc" "a job after space came back"

# Nothing ran that the store does not know: each container the engine started
# for this instance belongs to a job with an attempt.
instance=$(instance_id)
with_attempts=$("$JOBQ" list --limit 0 --json | jq '[.jobs[] | select(.attempts | length > 0)] | length')
assert_eq 2 "$with_attempts" "jobs that were launched"
stop_daemon
assert_eq ok "$(sqlite3 "$WORK/state/jobq.db" 'PRAGMA integrity_check')" "integrity_check"
echo "PASS ($errors enqueues refused on a full disk)"
