#!/usr/bin/env bash
# Warm containers (jobq app create --warm): the pool is kept, a job handed to
# a warm container runs as it would cold (output, exit code, env, JOBQ_*
# variables, the image's default command, OOM kill, FinishedAt as Docker
# recorded it), its start is the hand-off and its container's own start is
# kept beside it; the limit holds, cancel, timeouts (counted from the
# hand-off) and retries work; a job that lowers its limits is warm (lowered
# in place), one with another user is cold; an update recycles the pool,
# --warm 0 empties it, and auto sizes it from a burst. jobqd runs under a
# umask of 077, as its systemd unit does, and the jobs as user 1000. A real
# unprivileged user's job runs warm, but that user can neither read the
# hand-off files (other users' env) nor size a pool.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root to create test users" >&2; exit 125; }
group=jobq-warm-users
test_group $group
test_user jobq-warm-ann $group
chmod 755 "$WORK"
# jobqd as its systemd unit runs it (UMask=0077); the jobs as a user, not root.
umask 077
start_daemon --keep-containers --socket-group $group
umask 022
"$JOBQ" app create w --image "$TEST_IMAGE" --warm 2 --max-running 2 --memory 64m \
  --user 1000:1000 --job-users 1000-2000 --env FROM_APP=a >/dev/null
instance=$(instance_id)

pool() {  # APP FIELD: the pool's field in status, 0 when it has none
  "$JOBQ" status --json | jq -r --arg a "$1" "[.status.warm_pools[] | select(.app == \$a) | .$2][0] // 0"
}
wait_idle() {  # APP N: until the pool has N idle containers
  for _ in $(seq 1 $((150 * TIME_FACTOR))); do
    [[ $(pool "$1" idle) == "$2" ]] && return 0
    sleep 0.1
  done
  fail "pool of $1: $(pool "$1" idle) idle, expected $2"
}
idle_names() { docker ps -q --filter "label=jobq.instance=$instance" --filter "name=-warm-" | sort; }
attempt() { job_field "$1" ".attempts[${3:-0}].$2"; }

wait_idle w 2
assert_eq 2 "$(idle_names | wc -l)" "warm containers running"
# Idle for a while: a warm job's times and timeout must count from its hand-off.
sleep 2

# The user flow: jobq run streams the output and exits with the job's code.
rc=0
out=$("$JOBQ" run w --env FROM_JOB=j -- sh -c 'echo "out $FROM_APP $FROM_JOB $JOBQ_JOB_ID $JOBQ_ATTEMPT"; echo err >&2; exit 3' 2>&1) || rc=$?
assert_eq 3 "$rc" "jobq run's exit code"
id=$("$JOBQ" list --json | jq -r '.jobs[0].id')
[[ $out == *"out a j $id 1"* && $out == *err* ]] || fail "output of a warm job: $out"
assert_eq true "$(attempt "$id" warm)" "the attempt ran warm"
assert_eq handoff "$(attempt "$id" times_from)" "whose start it is"
name=$(attempt "$id" container_name)
assert_eq "$(docker inspect -f '{{.State.FinishedAt}}' "$name")" "$(attempt "$id" finished_at)" "FinishedAt is Docker's"
assert_eq "$(docker inspect -f '{{.State.StartedAt}}' "$name")" "$(attempt "$id" warm_started_at)" "the container's own start is kept"
assert_eq 3 "$(docker inspect -f '{{.State.ExitCode}}' "$name")" "Docker's exit code"
started=$(to_ns "$(attempt "$id" started_at)")
warm_since=$(to_ns "$(attempt "$id" warm_started_at)")
((started - warm_since > 1500000000)) || fail "the start ($started) is not the hand-off, >= 2 s after the container's ($warm_since)"
"$JOBQ" show "$id" | grep -q "ran warm" || fail "show does not say the attempt ran warm"
# The job's labels are in the store; the warm container keeps its own.
lbl=$(enq w --label color=blue -- true)
"$JOBQ" wait --timeout 30s "$lbl" >/dev/null
assert_eq blue "$(job_field "$lbl" .labels.color)" "a warm job's label, in the store"

# No command: the image's own.
wait_idle w 2
def=$(enq w)
"$JOBQ" wait --timeout 30s "$def" >/dev/null
assert_eq true "$(attempt "$def" warm)" "a job with the image's command ran warm"
assert_eq "hello from jobq" "$("$JOBQ" logs "$def")" "the image's default command"

# A command that is not there: 127, said on stderr.
wait_idle w 2
nf=$(enq w -- /no/such/thing)
rc=0; "$JOBQ" wait --timeout 30s "$nf" >/dev/null || rc=$?
assert_eq 127 "$rc" "a warm job whose command is missing"
"$JOBQ" logs --stderr "$nf" | grep -q "cannot run /no/such/thing" || fail "no word of the missing command"

# Lower limits are set in place; another user goes cold.
wait_idle w 2
low=$(enq w --memory 32m -- sleep 5)
wait_state "$low" running
assert_eq true "$(attempt "$low" warm)" "a job lowering its memory ran warm"
assert_eq 33554432 "$(docker inspect -f '{{.HostConfig.Memory}}' "$(attempt "$low" container_name)")" "memory lowered in place"
other=$(enq w --user 1500:1500 -- id -u)
"$JOBQ" wait --timeout 30s "$other" >/dev/null
assert_eq false "$(attempt "$other" warm)" "a job with its own user ran cold"
assert_eq 1500 "$("$JOBQ" logs "$other")" "the cold job's user"
"$JOBQ" wait --timeout 30s "$low" >/dev/null

# OOM kill, as a cold container reports it.
wait_idle w 2
oom=$(enq w -- sh -c 's=0123456789abcdef; while true; do s="$s$s"; done')
rc=0; "$JOBQ" wait --timeout 60s "$oom" >/dev/null || rc=$?
assert_eq true "$(attempt "$oom" warm)" "the OOM job ran warm"
assert_eq 137 "$rc" "wait on an OOM-killed warm job"
assert_eq true "$(job_field "$oom" .oom_killed)" "oom_killed"
assert_eq oom "$(job_field "$oom" .reason)" "reason"

# Cancel of a running warm job.
wait_idle w 2
c=$(enq w -- sleep 60)
wait_state "$c" running
assert_eq true "$(attempt "$c" warm)" "the job to cancel ran warm"
"$JOBQ" cancel "$c" >/dev/null
"$JOBQ" wait --timeout 30s "$c" >/dev/null || true
assert_eq cancelled "$(job_field "$c" .state)" "a cancelled warm job"

# A timeout counts from the hand-off, not from the container's start.
wait_idle w 2
sleep 2
t=$(enq w --timeout 1s -- sleep 60)
"$JOBQ" wait --timeout 30s "$t" >/dev/null || true
assert_eq true "$(attempt "$t" warm)" "the job with a timeout ran warm"
assert_eq timed_out "$(job_field "$t" .state)" "a warm job past its timeout"
ran=$(attempt "$t" run_ms)
((ran >= 900 && ran < 10000)) || fail "the timed-out job ran $ran ms; its timeout is 1 s from the hand-off"

# Retries: each attempt is a run of its own.
r=$(enq w --retries 2 --retry-base 100ms --retry-max 200ms -- sh -c 'exit 5')
rc=0; "$JOBQ" wait --timeout 60s "$r" >/dev/null || rc=$?
assert_eq 5 "$rc" "a retried warm job's exit code"
assert_eq 3 "$(job_field "$r" '.attempts | length')" "attempts of a retried job"

# The limit holds with warm containers: at most 2 jobs at once, judged
# from their own times (the hand-off to Docker's FinishedAt).
wait_idle w 2
ids=()
for i in $(seq 1 6); do ids+=("$(enq w -- sleep 1)"); done
"$JOBQ" wait --timeout 120s "${ids[@]}" >/dev/null
events=() warm=0
for i in "${ids[@]}"; do
  events+=("$(to_ns "$(job_field "$i" .started_at)") 1" "$(to_ns "$(job_field "$i" .finished_at)") -1")
  [[ $(attempt "$i" warm) == true ]] && warm=$((warm + 1))
done
max=$(printf '%s\n' "${events[@]}" | sort -k1,1n -k2,2n | awk '{ n += $2; if (n > m) m = n } END { print m }')
((max <= 2)) || fail "$max jobs ran at once; the limit is 2"
((warm >= 2)) || fail "only $warm of 6 jobs ran warm"
hits=$(pool w hits)
((hits >= 8)) || fail "status counts $hits hits"

# An update of the environment recycles the pool; the new env reaches jobs.
wait_idle w 2
before=$(idle_names)
"$JOBQ" app update w --env FROM_APP=b >/dev/null
for _ in $(seq 1 $((150 * TIME_FACTOR))); do
  now=$(idle_names)
  [[ $(wc -l <<<"$now") == 2 && -z $(comm -12 <(echo "$before") <(echo "$now")) ]] && break
  sleep 0.1
done
[[ -z $(comm -12 <(echo "$before") <(idle_names)) ]] || fail "the pool was not recycled after an update"
e=$(enq w -- sh -c 'echo $FROM_APP')
"$JOBQ" wait --timeout 30s "$e" >/dev/null
assert_eq b "$("$JOBQ" logs "$e")" "a job after the update sees the new env"

# --warm 0 empties the pool.
"$JOBQ" app update w --warm 0 >/dev/null
for _ in $(seq 1 $((150 * TIME_FACTOR))); do
  [[ -z $(idle_names) ]] && break
  sleep 0.1
done
assert_eq "" "$(idle_names)" "warm containers after --warm 0"

# auto: sized from a burst of launches, within the limit.
"$JOBQ" app create a --image "$TEST_IMAGE" --warm auto --max-running 3 >/dev/null
ids=()
for i in $(seq 1 5); do ids+=("$(enq a -- true)"); done
"$JOBQ" wait --timeout 60s "${ids[@]}" >/dev/null
wait_idle a 3
assert_eq 3 "$(pool a size)" "an auto pool after a burst of 5 with a limit of 3"
assert_eq true "$("$JOBQ" status --json | jq '.status.warm_pools[] | select(.app == "a") | .auto')" "auto, in status"
# Read whole first: `jobq metrics | grep -q` under pipefail fails when grep
# leaves before jobq's last write (the text is over 4 KiB: two writes).
metrics=$("$JOBQ" metrics)
grep -q '^jobq_warm_idle{app="a"} 3' <<<"$metrics" ||
  fail "metrics lack the idle pool: $(grep '^jobq_warm_' <<<"$metrics" | tr '\n' ' ')"

# An unprivileged user: a job of theirs runs warm; the job files (each
# job's env) are jobqd's alone; sizing a pool is for admins.
u=$(as jobq-warm-ann "$JOBQ" enqueue a -q --label "jobq-test-run=$RUN_ID" --env TOKEN=ann-secret -- sh -c 'echo $TOKEN')
as jobq-warm-ann "$JOBQ" wait --timeout 30s "$u" >/dev/null
assert_eq true "$(attempt "$u" warm)" "an unprivileged user's job ran warm"
assert_eq ann-secret "$(as jobq-warm-ann "$JOBQ" logs "$u")" "its output"
files=$(ls "$WORK"/state/warm/*/job | wc -l)
((files > 0)) || fail "no job file to try"
if as jobq-warm-ann sh -c "cat $WORK/state/warm/*/job" >/dev/null 2>&1; then fail "an unprivileged user read a hand-off file"; fi
rc=0; as jobq-warm-ann "$JOBQ" app update a --warm 50 >/dev/null 2>&1 || rc=$?
assert_eq 77 "$rc" "an unprivileged user sizing a pool"

# Bad input: a clear error, nothing changed.
rc=0; out=$("$JOBQ" app update a --warm lots 2>&1) || rc=$?
assert_eq 64 "$rc" "--warm lots"
rc=0; out=$("$JOBQ" app update a --pull always 2>&1) || rc=$?
assert_eq 1 "$rc" "--pull always with a warm pool"
[[ $out == *"--pull always"* ]] || fail "message for --pull always: $out"
echo PASS
