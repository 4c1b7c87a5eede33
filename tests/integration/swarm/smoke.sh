#!/usr/bin/env bash
# Checks private_swarm.sh by hand (root): a one-node swarm runs a Replicated
# service of the imported test image whose task fails with exit code 3; a
# two-node swarm places a service constrained to node.labels.pool==b on the
# node labelled so. Prints how long each `up` and each task took; leaves
# nothing behind.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
SWARM=$HERE/private_swarm.sh
export IMAGE=jobq-swarm-smoke:1
DIRS=()

cleanup() {
  local rc=$? d
  for d in "${DIRS[@]}"; do "$SWARM" down "$d" || rc=1; done
  exit $rc
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

# up NODES: a fresh swarm; its env is sourced.
up() {
  local dir start rc=0
  dir=$(mktemp -d /tmp/jobq-swarm-smoke.XXXXXX)
  DIRS+=("$dir")
  start=$(now)
  "$SWARM" up "$dir" "$1" || rc=$?
  ((rc == 0)) || { ((rc == 125)) && exit 125; fail "up $1 failed ($rc)"; }
  echo "up, $1 node(s): $(since "$start") s"
  # shellcheck source=/dev/null
  source "$dir/env"
}

down() {
  "$SWARM" down "$SWARM_DIR"
  [[ ! -e $SWARM_DIR ]] || fail "down left $SWARM_DIR"
}

# run_service NAME [docker service create options]: a Replicated service of
# one task, restart condition none, running `sh -c 'exit 3'`; waits for the
# task to end and checks it failed with exit code 3. Sets TASK_NODE.
run_service() {
  local name=$1 start task state code
  shift
  start=$(now)
  docker -H "$SWARM_HOST" service create -d -q --no-resolve-image --name "$name" \
    --replicas 1 --restart-condition none "$@" "$IMAGE" sh -c 'exit 3' >/dev/null
  for _ in $(seq 1 300); do
    task=$(docker -H "$SWARM_HOST" service ps -q "$name" | head -n 1)
    if [[ -n $task ]]; then
      state=$(docker -H "$SWARM_HOST" inspect --type task --format '{{.Status.State}}' "$task")
      [[ $state == failed || $state == complete || $state == rejected ]] && break
    fi
    sleep 0.2
  done
  local took
  took=$(since "$start")
  code=$(docker -H "$SWARM_HOST" inspect --type task --format '{{.Status.ContainerStatus.ExitCode}}' "$task")
  TASK_NODE=$(docker -H "$SWARM_HOST" inspect --type task --format '{{.NodeID}}' "$task")
  [[ $state == failed && $code == 3 ]] ||
    fail "$name: task is '$state' with exit code '$code': $(docker -H "$SWARM_HOST" inspect --type task --format '{{.Status.Err}}' "$task")"
  echo "$name: task failed with exit code 3, $took s after create"
  docker -H "$SWARM_HOST" service rm "$name" >/dev/null
}

up 1
run_service smoke-one
down

up 2
read -r node1 node2 <<<"$SWARM_NODE_IDS"
"$SWARM" label "$SWARM_DIR" 2 pool=b
[[ $(docker -H "$SWARM_HOST" node inspect --format '{{index .Spec.Labels "pool"}}' "$node2") == b ]] ||
  fail "node 2 has no label pool=b"
run_service smoke-pool-b --constraint node.labels.pool==b
[[ $TASK_NODE == "$node2" ]] || fail "the pool=b task ran on $TASK_NODE, not node 2 ($node2)"
echo "smoke-pool-b ran on node 2 (${SWARM_HOSTNAMES#* })"
run_service smoke-manager --constraint node.role==manager
[[ $TASK_NODE == "$node1" ]] || fail "the manager task ran on $TASK_NODE, not node 1 ($node1)"
down
echo "OK"
