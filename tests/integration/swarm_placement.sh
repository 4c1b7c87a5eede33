#!/usr/bin/env bash
# Placement on a private two-node swarm (two dockerds in their own
# namespaces, joined by a veth pair that exists only inside them): jobs of an
# application with --constraint node.labels.pool==b all run on the node
# labelled so; jobs of an application with --max-per-node 1 never run two on
# one node at once (judged from their containers' records on each node and
# from Swarm's task list while they run), and both nodes are used. A job
# cancelled on the node that is not the manager's keeps its output.
SWARM_NODES=2
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/swarm_lib.sh"
read -r -a hostnames <<<"$SWARM_HOSTNAMES"
read -r -a node_ids <<<"$SWARM_NODE_IDS"
bash "$(dirname "$0")/swarm/private_swarm.sh" label "$SWARM_DIR" 2 pool=b
start_daemon

swarm_app pinned --constraint node.labels.pool==b
ids=()
for i in 1 2 3; do ids+=("$(enq pinned -- sh -c 'echo on; hostname')"); done
"$JOBQ" wait "${ids[@]}" >/dev/null || fail "pinned jobs"
for id in "${ids[@]}"; do
  assert_eq "${hostnames[1]}" "$(job_field "$id" .node)" "node of pinned job $id"
  assert_eq "${node_ids[1]}" "$(job_field "$id" .node_id)" "node id of pinned job $id"
  # Off the manager's node: the scheduler's times, no claim about OOM.
  assert_eq scheduler "$(job_jq "$id" '.attempts[0].times_from')" "times of job $id"
  assert_eq null "$(job_jq "$id" '.attempts[0].oom_killed')" "OOM flag of job $id"
done
echo "ok: constraint node.labels.pool==b held for ${#ids[@]} jobs"

# A cancel off the manager's node: Swarm cannot stop that one task, so its
# output is read, its service removed, and the reason says so.
long=$(enq pinned -- sh -c 'echo before-cancel; sleep 60')
wait_state "$long" running 30
for _ in $(seq 1 100); do [[ -n $("$JOBQ" logs "$long" 2>/dev/null) ]] && break; sleep 0.1; done
"$JOBQ" cancel "$long" >/dev/null
wait_state "$long" cancelled 30
assert_eq before-cancel "$("$JOBQ" logs "$long")" "output of a job cancelled on another node"
reason=$(job_field "$long" .reason)
[[ $reason == "cancel requested while running (stopped by removing its service"* ]] ||
  fail "cancel on another node: reason '$reason'"
assert_eq "${hostnames[1]}" "$(job_field "$long" .node)" "node of the cancelled job"
echo "ok: cancel on another node: $reason"

swarm_app spread --max-per-node 1
ids=()
for i in 1 2 3 4; do ids+=("$(enq spread -- sh -c 'sleep 2')"); done
most=0
while :; do
  # Swarm's own view, while they run: this application's live tasks per node.
  per_node=$(sdocker service ps -q --filter desired-state=running \
    $(sdocker service ls -q --filter label=jobq.app=spread) 2>/dev/null |
    xargs -r docker -H "$SWARM_HOST" inspect -f '{{.NodeID}} {{.Status.State}}' 2>/dev/null |
    awk '$2 == "running" || $2 == "starting" {n[$1]++} END {m = 0; for (k in n) if (n[k] > m) m = n[k]; print m}' ||
    true)  # a task may be gone between the list and its inspect
  if ((${per_node:-0} > most)); then most=${per_node:-0}; fi
  done_count=0
  for id in "${ids[@]}"; do
    case $(job_field "$id" .state) in succeeded | failed) done_count=$((done_count + 1)) ;; esac
  done
  ((done_count == ${#ids[@]})) && break
  sleep 0.2
done
((most <= 1)) || fail "Swarm's task list showed $most running on one node"
declare -A by_node
for id in "${ids[@]}"; do
  assert_eq succeeded "$(job_field "$id" .state)" "state of spread job $id"
  node=$(job_field "$id" .node)
  by_node[$node]+="$id "
done
((${#by_node[@]} == 2)) || fail "the jobs did not use both nodes: ${!by_node[*]}"
# Per node, from the recorded start and finish: never two at once.
for node in "${!by_node[@]}"; do
  events=()
  for id in ${by_node[$node]}; do
    # A start seen by no poll (a task that ran between two) is not recorded.
    [[ $(job_field "$id" .started_at) != null ]] || continue
    events+=("$(to_ns "$(job_field "$id" .started_at)") 1" "$(to_ns "$(job_field "$id" .finished_at)") -1")
  done
  at_once=$(printf '%s\n' "${events[@]}" | sort -n -k1,1 -k2,2n | awk '{n += $2; if (n > m) m = n} END {print m}')
  ((at_once <= 1)) || fail "node $node ran $at_once of them at once"
done
echo "ok: --max-per-node 1 held on both nodes (${!by_node[*]})"
