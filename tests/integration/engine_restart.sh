#!/usr/bin/env bash
# dockerd itself stopped while jobs run and while more are enqueued, then
# started again. The running jobs were stopped with their engine (SIGTERM,
# which they trap, exiting 0 and 3): each is recorded as failed with that
# reason, whatever its exit code (never as a success). Jobs enqueued during
# the outage are kept and run once the engine is back; nothing is lost.
# Restarted again with nothing running, the engine's outage ends when it
# answers: a later job exiting 137 on its own keeps its own reason. Restarted
# while jobqd is down, the reason says so.
# The engine is a private dockerd (own socket, data and containerd namespace)
# in its own network namespace, so stopping it disturbs nothing else.
source "$(dirname "$0")/lib.sh"
command -v unshare >/dev/null || { echo "SKIP: unshare is missing" >&2; exit 125; }
pd=$WORK/engine
mkdir -p "$pd"
ENGINE_PID=
start_engine() {
  setsid unshare --net dockerd --data-root "$pd/data" --exec-root "$pd/exec" --pidfile "$pd/pid" \
    -H "unix://$pd/docker.sock" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --containerd-namespace "jobq-$RUN_ID" --containerd-plugins-namespace "jobq-$RUN_ID-plugins" \
    --shutdown-timeout 2 >>"$pd/log" 2>&1 </dev/null &
  ENGINE_PID=$!
  for _ in $(seq 1 120); do
    DOCKER_HOST=unix://$pd/docker.sock docker info >/dev/null 2>&1 && return 0
    kill -0 "$ENGINE_PID" 2>/dev/null || { tail -n 20 "$pd/log" >&2; fail "private dockerd exited"; }
    sleep 0.25
  done
  fail "private dockerd did not answer"
}
stop_engine() {
  [[ -n $ENGINE_PID ]] || return 0
  kill "$ENGINE_PID" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$ENGINE_PID" 2>/dev/null || break; sleep 0.1; done
  ENGINE_PID=
}
extra_cleanup() {
  if [[ -n $ENGINE_PID ]]; then
    local ids
    ids=$(DOCKER_HOST=unix://$pd/docker.sock docker ps -aq 2>/dev/null || true)
    [[ -z $ids ]] || DOCKER_HOST=unix://$pd/docker.sock docker rm -f $ids >/dev/null 2>&1 || true
  fi
  stop_engine
  rm -rf "$pd" 2>/dev/null || true
}

start_engine
DOCKER_HOST=unix://$pd/docker.sock "$(dirname "$0")/../../packaging/make-test-image.sh" private-busybox >/dev/null
DOCKER_HOST=unix://$pd/docker.sock start_daemon
"$JOBQ" app create t --image private-busybox --max-running 2 >/dev/null

trapping() { echo "trap 'echo stopping; exit $1' TERM; while :; do sleep 0.1; done"; }
doomed=$(enq t -- sh -c "$(trapping 0)")
doomed3=$(enq t -- sh -c "$(trapping 3)")
wait_state "$doomed" running
wait_state "$doomed3" running
stop_engine
during=()
for _ in $(seq 1 5); do during+=("$(enq t -- sh -c 'exit 0')"); done
sleep 1
assert_eq false "$("$JOBQ" status --json | jq .status.engine.reachable)" "engine reachable while stopped"
start_engine

rc=0; "$JOBQ" wait --timeout 120s "$doomed" "$doomed3" || rc=$?
assert_eq 125 "$rc" "jobq wait on the jobs stopped with their engine"
assert_eq failed "$(job_field "$doomed" .state)" "state of the job stopped with its engine (exit 0)"
assert_eq 0 "$(job_field "$doomed" .exit_code)" "its exit code"
assert_eq "killed when the Docker engine stopped (exit code 0)" "$(job_field "$doomed" .reason)" "its reason"
assert_eq failed "$(job_field "$doomed3" .state)" "state of the job stopped with its engine (exit 3)"
assert_eq "killed when the Docker engine stopped (exit code 3)" "$(job_field "$doomed3" .reason)" "its reason"
rc=0; "$JOBQ" wait --timeout 120s "${during[@]}" || rc=$?
assert_eq 0 "$rc" "jobs enqueued during the outage"
for id in "${during[@]}"; do
  assert_eq succeeded "$(job_field "$id" .state)" "job $id enqueued during the outage"
  assert_eq 1 "$(job_field "$id" '.attempts | length')" "attempts of job $id"
done

# Restarted with nothing running: the outage ends when the engine answers.
stop_engine
sleep 1
start_engine
for _ in $(seq 1 50); do
  [[ $("$JOBQ" status --json | jq .status.engine.reachable) == true ]] && break
  sleep 0.2
done
sleep 1
own=$(enq t -- sh -c 'exit 137')
rc=0; "$JOBQ" wait --timeout 60s "$own" || rc=$?
assert_eq 137 "$rc" "a job exiting 137 on its own after the restart"
assert_eq "exit code 137" "$(job_field "$own" .reason)" "its reason"

# Restarted while jobqd is down.
while_down=$(enq t -- sh -c "$(trapping 0)")
wait_state "$while_down" running
stop_daemon
stop_engine
start_engine
DOCKER_HOST=unix://$pd/docker.sock start_daemon
rc=0; "$JOBQ" wait --timeout 60s "$while_down" || rc=$?
assert_eq 125 "$rc" "jobq wait on the job stopped while jobqd was down"
assert_eq failed "$(job_field "$while_down" .state)" "state of the job stopped while jobqd was down"
reason=$(job_field "$while_down" .reason)
[[ $reason == "killed when the Docker engine stopped: the Docker engine restarted at "*" while jobqd was down (exit code 0)" ]] ||
  fail "reason of the job stopped while jobqd was down: $reason"
echo "PASS ($reason)"
