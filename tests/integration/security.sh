#!/usr/bin/env bash
# Who may do what, with real users: the socket's mode and group, a user outside
# the group cannot connect, a non-admin cannot define applications nor cancel
# another user's job, an admin-group member can; what a job may not ask for.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root to create test users" >&2; exit 125; }
users_group=jobq-test-users
admins_group=jobq-test-admins
test_group $users_group
test_group $admins_group
test_user jobq-test-alice $users_group
test_user jobq-test-carol $users_group,$admins_group
test_user jobq-test-bob
chmod 755 "$WORK"  # the socket's directory must be reachable by the test users

start_daemon --socket-group $users_group --admin-group $admins_group
assert_eq "660 $users_group" "$(stat -c '%a %G' "$JOBQ_SOCKET")" "socket mode and group"

# Outside the group: no connection at all.
rc=0; as jobq-test-bob "$JOBQ" status 2>"$WORK/err" || rc=$?
assert_eq 69 "$rc" "a user outside the socket group"
grep -qi "permission denied" "$WORK/err" || fail "message for bob: $(cat "$WORK/err")"

# A plain user: enqueue and read yes, applications no.
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null
rc=0; as jobq-test-alice "$JOBQ" app create mine --image "$TEST_IMAGE" 2>"$WORK/err" || rc=$?
assert_eq 77 "$rc" "a non-admin creating an application"
grep -q "is for admins" "$WORK/err" || fail "refusal does not name its rule: $(cat "$WORK/err")"
rc=0; as jobq-test-alice "$JOBQ" app delete t 2>/dev/null || rc=$?
assert_eq 77 "$rc" "a non-admin deleting an application"
alice_job=$(as jobq-test-alice "$JOBQ" enqueue t -q --label "jobq-test-run=$RUN_ID" -- sleep 30)
assert_eq jobq-test-alice "$(job_field "$alice_job" .submitted_by.user)" "recorded submitter"
assert_eq "$(id -u jobq-test-alice)" "$(job_field "$alice_job" .submitted_by.uid)" "recorded submitter uid"
root_job=$(enq t -- sleep 30)
as jobq-test-alice "$JOBQ" show "$root_job" >/dev/null || fail "alice cannot read a job"
rc=0; as jobq-test-alice "$JOBQ" cancel "$root_job" 2>"$WORK/err" || rc=$?
assert_eq 77 "$rc" "a non-admin cancelling another user's job"
grep -q "only their own jobs" "$WORK/err" || fail "cancel refusal: $(cat "$WORK/err")"
as jobq-test-alice "$JOBQ" cancel "$alice_job" >/dev/null || fail "alice cannot cancel her own job"
assert_eq cancelled "$(job_field "$alice_job" .state)" "alice's cancelled job"

# An admin-group member may define applications and act on any job.
as jobq-test-carol "$JOBQ" app create carols --image "$TEST_IMAGE" >/dev/null || fail "admin-group member cannot create an application"
as jobq-test-carol "$JOBQ" cancel "$root_job" >/dev/null || fail "admin-group member cannot cancel another user's job"

# What a job may not ask for, through the raw protocol.
send() { timeout 10 socat -t 5 - "UNIX-CONNECT:$JOBQ_SOCKET" | head -n 1; }
for field in privileged mounts devices cap_add network_mode pid_mode ipc_mode image user; do
  assert_eq forbidden "$(printf '{"v":1,"cmd":"enqueue","args":{"app":"t","%s":true}}\n' "$field" | send | jq -r .error.code)" "enqueue with '$field'"
done
assert_eq bad_request "$(printf '{"v":1,"cmd":"enqueue","args":{"app":"t","labels":{"jobq.app":"x"}}}\n' | send | jq -r .error.code)" "reserved label"
assert_eq bad_request "$(printf '{"v":1,"cmd":"enqueue","args":{"app":"t","env":{"JOBQ_JOB_ID":"1"}}}\n' | send | jq -r .error.code)" "reserved env name"
assert_eq bad_request "$(printf '{"v":1,"cmd":"enqueue","args":{"app":"t","env":{"A=B":"1"}}}\n' | send | jq -r .error.code)" "invalid env name"
assert_eq bad_request "$(printf '{"v":1,"cmd":"enqueue","args":{"app":"t","command":["a\\u0000b"]}}\n' | send | jq -r .error.code)" "NUL in the command"
echo "PASS"
