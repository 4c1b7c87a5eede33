#!/usr/bin/env bash
# Exit codes 0, 3 and 137 are recorded as the container reported them, and
# `jobq wait` exits with the job's own code (the first non-zero of several).
# 137 comes from a SIGKILL sent from outside (`docker kill`): PID 1 of a
# container cannot SIGKILL itself.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null

ok=$(enq t -- sh -c 'exit 0')
three=$(enq t -- sh -c 'echo hi; exit 3')
killed=$(enq t -- sleep 300)
default=$(enq t)  # the image's own command
for _ in $(seq 1 100); do
  [[ $(job_field "$killed" .state) == running ]] && break
  sleep 0.1
done
docker kill -s KILL "$(job_field "$killed" '.attempts[0].container_name')" >/dev/null

rc=0; "$JOBQ" wait "$ok" || rc=$?;      assert_eq 0 "$rc" "wait on a job exiting 0"
rc=0; "$JOBQ" wait "$three" || rc=$?;   assert_eq 3 "$rc" "wait on a job exiting 3"
rc=0; "$JOBQ" wait "$killed" || rc=$?;  assert_eq 137 "$rc" "wait on a job killed by SIGKILL"
rc=0; "$JOBQ" wait "$default" || rc=$?; assert_eq 0 "$rc" "wait on the image's default command"
rc=0; "$JOBQ" wait "$ok" "$three" "$killed" || rc=$?
assert_eq 3 "$rc" "wait on several: the first non-zero"

assert_eq succeeded "$(job_field "$ok" .state)" "state of exit 0"
assert_eq 0 "$(job_field "$ok" .exit_code)" "exit code of exit 0"
assert_eq failed "$(job_field "$three" .state)" "state of exit 3"
assert_eq 3 "$(job_field "$three" .exit_code)" "exit code of exit 3"
assert_eq 3 "$(job_field "$three" '.attempts[0].exit_code')" "attempt's exit code"
assert_eq failed "$(job_field "$killed" .state)" "state of SIGKILL"
assert_eq 137 "$(job_field "$killed" .exit_code)" "exit code of SIGKILL"
assert_eq "hello from jobq" "$("$JOBQ" logs "$default")" "output of the image's default command"

# The JSON carries its schema version.
assert_eq 1 "$("$JOBQ" show "$ok" --json | jq .schema)" "schema version"
# list --state filters; every listed job is failed.
assert_eq "failed failed" "$("$JOBQ" list --app t --state failed --json | jq -r '[.jobs[].state] | join(" ")')" "list --state failed"
# Finished containers are removed after their result is recorded (by a
# worker of the poller's, so within moments of it).
for ((i = 0; i < 100; i++)); do
  [[ -z $(docker ps -aq --filter "label=jobq-test-run=$RUN_ID") ]] && break
  sleep 0.1
done
assert_eq "" "$(docker ps -aq --filter "label=jobq-test-run=$RUN_ID")" "containers left behind"
echo "PASS"
