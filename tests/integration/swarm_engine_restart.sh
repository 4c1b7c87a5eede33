#!/usr/bin/env bash
# The swarm manager's dockerd killed (SIGKILL) and started again while jobs
# run on it: swarm mode has no live-restore, so the restarted engine stops
# the running tasks' containers (SIGTERM, which the jobs trap, exiting 0 and
# 3). jobq records each as failed, naming the engine, whatever its exit code
# (never a success); a job enqueued while the manager is down runs once it
# is back; a job after the restart keeps its own result. Then the same with
# jobqd down during the restart.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/swarm_lib.sh"
start_daemon
swarm_app w
restart_manager() { bash "$(dirname "$0")/swarm/private_swarm.sh" restart "$SWARM_DIR"; }

trapping() {  # CODE: a job that traps SIGTERM and exits CODE
  enq w -- sh -c "echo up; trap 'exit $1' TERM; sleep 120 & wait"
}
a=$(trapping 0)
b=$(trapping 3)
wait_state "$a" running 30
wait_state "$b" running 30
for id in "$a" "$b"; do  # the trap is set once it printed
  for _ in $(seq 1 100); do [[ -n $("$JOBQ" logs "$id" 2>/dev/null) ]] && break; sleep 0.1; done
done
restart_manager &
restarter=$!
sleep 0.3
during=$(enq w -- sh -c 'echo after the restart')
wait "$restarter" || fail "the manager did not restart"
for id in "$a" "$b"; do
  wait_state "$id" failed 60
  reason=$(job_field "$id" .reason)
  [[ $reason == "killed when the Docker Swarm manager stopped"* ]] ||
    fail "job $id: reason '$reason' does not name the engine"
done
"$JOBQ" wait --timeout 120s "$during" >/dev/null || fail "the job enqueued during the restart"
assert_eq "after the restart" "$("$JOBQ" logs "$during")" "output of the job enqueued meanwhile"
later=$(enq w -- sh -c 'exit 137')
rc=0; "$JOBQ" wait "$later" >/dev/null || rc=$?
assert_eq 137 "$rc" "a later job's own exit code"
assert_eq "exit code 137" "$(job_field "$later" .reason)" "a later job's own reason"
echo "ok: restart while jobqd watched"

c=$(trapping 0)
wait_state "$c" running 30
for _ in $(seq 1 100); do [[ -n $("$JOBQ" logs "$c" 2>/dev/null) ]] && break; sleep 0.1; done
stop_daemon
restart_manager
start_daemon
wait_state "$c" failed 60
reason=$(job_field "$c" .reason)
[[ $reason == "killed when the Docker Swarm manager stopped"* ]] ||
  fail "job $c (jobqd down): reason '$reason' does not name the engine"
echo "ok: restart while jobqd was down: $reason"
