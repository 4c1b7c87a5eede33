#!/usr/bin/env bash
# dockerd itself stopped while jobs run and while more are enqueued, then
# started again. The running job was killed with its engine: it is recorded as
# failed with that reason (never as a success). Jobs enqueued during the
# outage are kept and run once the engine is back; nothing is lost.
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

doomed=$(enq t -- sleep 300)
wait_state "$doomed" running
stop_engine
during=()
for _ in $(seq 1 5); do during+=("$(enq t -- sh -c 'exit 0')"); done
sleep 1
assert_eq false "$("$JOBQ" status --json | jq .status.engine.reachable)" "engine reachable while stopped"
start_engine

rc=0; "$JOBQ" wait --timeout 120s "$doomed" || rc=$?
assert_eq failed "$(job_field "$doomed" .state)" "state of the job killed with its engine"
code=$(job_field "$doomed" .exit_code)
[[ $code == 137 || $code == 143 || $code == 255 ]] || fail "exit code of the killed job: $code"
assert_eq "$code" "$rc" "jobq wait on the killed job"
job_field "$doomed" .reason | grep -qi "engine" || fail "reason does not name the engine: $(job_field "$doomed" .reason)"
rc=0; "$JOBQ" wait --timeout 120s "${during[@]}" || rc=$?
assert_eq 0 "$rc" "jobs enqueued during the outage"
for id in "${during[@]}"; do
  assert_eq succeeded "$(job_field "$id" .state)" "job $id enqueued during the outage"
  assert_eq 1 "$(job_field "$id" '.attempts | length')" "attempts of job $id"
done
echo "PASS (killed job: exit $code, $(job_field "$doomed" .reason))"
