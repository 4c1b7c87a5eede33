#!/usr/bin/env bash
# The user's flow on the swarm runtime, on a private single-node swarm: an
# application with --runtime swarm runs jobs as services; exit codes, output
# (stdout and stderr apart), `jobq run` and `wait` exiting with the job's
# code, the node and the engine's own times (the manager's node), an OOM
# kill, a missing image as a launch failure with Swarm's words, cancel and
# timeout keeping the output, retries, the concurrency limit, dependencies,
# a job no node can take (Swarm's words as its pending reason, then its
# schedule timeout), `logs -f` ending with the task, and no service left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/swarm_lib.sh"
start_daemon
swarm_app s
instance=$(instance_id)

# Exit codes, output, jobq run and wait.
rc=0
out=$("$JOBQ" run s -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 3' 2>/dev/null) || rc=$?
assert_eq 3 "$rc" "jobq run's exit code"
assert_eq to-stdout "$out" "jobq run's stdout"
ok=$(enq s -- sh -c 'echo fine')
"$JOBQ" wait "$ok" >/dev/null || fail "wait on a job that succeeded"
bad=$(enq s -- sh -c 'exit 5')
rc=0; "$JOBQ" wait "$bad" >/dev/null || rc=$?
assert_eq 5 "$rc" "jobq wait's exit code"
run1=$("$JOBQ" list --app s --json | jq -r '.jobs | map(select(.exit_code == 3)) | .[0].id')
assert_eq to-stderr "$("$JOBQ" logs "$run1" --stderr)" "stderr kept apart"
assert_eq fine "$("$JOBQ" logs "$ok")" "stdout of a job"
echo "ok: exit codes, output, run and wait"

# Where it ran and whose times they are: the manager's own node, so the
# container's own record (its StartedAt, FinishedAt and OOM flag).
a=$("$JOBQ" show "$ok" --json | jq -c '.job.attempts[0]')
assert_eq swarm "$(jq -r .runtime <<<"$a")" "runtime recorded"
assert_eq "${SWARM_HOSTNAMES%% *}" "$(jq -r .node <<<"$a")" "node (hostname)"
assert_eq "${SWARM_NODE_IDS%% *}" "$(jq -r .node_id <<<"$a")" "node id"
assert_eq engine "$(jq -r .times_from <<<"$a")" "times from the engine on the manager's node"
assert_eq false "$(jq -r .oom_killed <<<"$a")" "OOM flag known on the manager's node"
"$JOBQ" show "$ok" | grep -q "ran on ${SWARM_HOSTNAMES%% *} (node " || fail "show names the node"
"$JOBQ" list --app s | head -1 | grep -q NODE || fail "list shows a NODE column for swarm jobs"
echo "ok: node and engine times recorded"

# An OOM kill, seen on the manager's node.
swarm_app mem --memory 16m
oom=$(enq mem -- sh -c 'x=a; while true; do x=$x$x; done')
"$JOBQ" wait "$oom" >/dev/null || true
assert_eq true "$(job_field "$oom" .oom_killed)" "OOM kill recorded"
assert_eq oom "$(job_field "$oom" .reason)" "OOM reason"
echo "ok: OOM kill"

# A missing image: a launch failure with Swarm's words.
"$JOBQ" app create ghost --image "jobq-no-such-image:$RUN_ID" --runtime swarm >/dev/null
ghost=$(enq ghost -- true)
"$JOBQ" wait "$ghost" >/dev/null || true
reason=$(job_field "$ghost" .reason)
[[ $reason == "could not start: No such image"* ]] || fail "missing image: reason '$reason'"
echo "ok: missing image fails with Swarm's words"

# Cancel and timeout stop the task and keep its output.
long=$(enq s -- sh -c 'echo before-cancel; trap "exit 143" TERM; sleep 60 & wait')
wait_state "$long" running 30
for _ in $(seq 1 100); do
  [[ -n $("$JOBQ" logs "$long" 2>/dev/null) ]] && break
  sleep 0.1
done
"$JOBQ" cancel "$long" >/dev/null
wait_state "$long" cancelled 30
assert_eq before-cancel "$("$JOBQ" logs "$long")" "output kept through a cancel"
swarm_app slow --timeout 2s
late=$(enq slow -- sh -c 'echo before-timeout; sleep 60')
wait_state "$late" timed_out 40
assert_eq before-timeout "$("$JOBQ" logs "$late")" "output kept through a timeout"
echo "ok: cancel and timeout"

# Retries: each attempt a service of its own.
swarm_app flaky --retries 2 --retry-base 100ms --retry-max 200ms
flaky=$(enq flaky -- sh -c 'echo attempt $JOBQ_ATTEMPT; [ "$JOBQ_ATTEMPT" = 3 ]')
"$JOBQ" wait "$flaky" >/dev/null || fail "the third attempt succeeds"
assert_eq 3 "$("$JOBQ" show "$flaky" --json | jq '.job.attempts | length')" "attempts"
assert_eq "attempt 3" "$("$JOBQ" logs "$flaky")" "the last attempt's output"
echo "ok: retries"

# The concurrency limit holds, judged from the containers' own times.
swarm_app limited --max-running 2
ids=()
for i in 1 2 3 4 5; do ids+=("$(enq limited -- sh -c 'sleep 1')"); done
"$JOBQ" wait "${ids[@]}" >/dev/null || fail "limited jobs"
events=()
for id in "${ids[@]}"; do
  events+=("$(to_ns "$(job_field "$id" .started_at)") 1" "$(to_ns "$(job_field "$id" .finished_at)") -1")
done
most=$(printf '%s\n' "${events[@]}" | sort -n -k1,1 -k2,2n | awk '{n += $2; if (n > m) m = n} END {print m}')
((most <= 2)) || fail "the limit of 2 was broken: $most at once"
echo "ok: concurrency limit ($most at most)"

# Dependencies.
first=$(enq s -- sh -c 'sleep 1; echo first')
second=$(enq s --after "$first" -- sh -c 'echo second')
"$JOBQ" wait "$second" >/dev/null || fail "dependent job"
first_end=$(to_ns "$(job_field "$first" .finished_at)")
second_start=$(to_ns "$(job_field "$second" .started_at)")
((second_start >= first_end)) || fail "the dependent started before its dependency ended"
echo "ok: dependencies"

# A job no node can take waits with Swarm's words, then fails at its
# schedule timeout; the service is removed.
swarm_app nowhere --constraint node.labels.pool==nowhere --schedule-timeout 4s
stuck=$(enq nowhere -- true)
for _ in $(seq 1 100); do
  [[ $(job_jq "$stuck" '.pending_reason.kind // empty') == placement ]] && break
  sleep 0.1
done
why=$(job_jq "$stuck" '.pending_reason.text // empty')
[[ $why == "waiting for a node: no suitable node"* ]] || fail "pending reason: '$why'"
"$JOBQ" show "$stuck" | grep -q "waiting:.*no suitable node" || fail "show says why it waits"
wait_state "$stuck" failed 30
reason=$(job_field "$stuck" .reason)
[[ $reason == "no node took it within its schedule timeout of 4000 ms: no suitable node"* ]] ||
  fail "schedule timeout reason: '$reason'"
echo "ok: unplaceable job waits, then fails at its schedule timeout"

# logs -f ends when the task ends (Swarm's own follow never does).
tail_id=$(enq s -- sh -c 'for i in 1 2 3; do echo line $i; sleep 1; done')
wait_state "$tail_id" running 30
rc=0
got=$(timeout 30 "$JOBQ" logs -f "$tail_id") || rc=$?
assert_eq 0 "$rc" "logs -f ended by itself"
assert_eq "line 1 line 2 line 3" "$(echo $got)" "logs -f output"
echo "ok: logs -f ends with the task"

# Results recorded, services removed: none of this instance's is left.
for _ in $(seq 1 50); do
  left=$(sdocker service ls -q --filter "label=jobq.instance=$instance" | wc -l)
  ((left == 0)) && break
  sleep 0.2
done
assert_eq 0 "$left" "services left behind"
echo "ok: no service left"
