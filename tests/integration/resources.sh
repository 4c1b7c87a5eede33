#!/usr/bin/env bash
# Resources: an application's memory, CPU and pids limits, network mode,
# read-only root filesystem and user reach the container; a job may lower
# them, never raise them; a job over its memory limit is recorded as an OOM
# kill (reason oom), distinct from a plain failure.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create m --image "$TEST_IMAGE" --memory 32m --cpus 0.5 --pids 64 --network none \
  --read-only --user 1000:1000 >/dev/null

# What Docker was asked for, read from the running container.
id=$(enq m --memory 16m -- sleep 30)
wait_state "$id" running
name=$(job_field "$id" '.attempts[0].container_name')
host=$(docker inspect "$name" --format '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.NetworkMode}} {{.HostConfig.ReadonlyRootfs}} {{.Config.User}}')
assert_eq "16777216 500000000 64 none true 1000:1000" "$host" "the container's limits (memory lowered by the job)"
"$JOBQ" cancel "$id" >/dev/null

# Inside: the user, the read-only root, no network but loopback.
id=$(enq m -- sh -c 'id -u; touch /x 2>/dev/null && echo writable || echo read-only; ls /sys/class/net')
rc=0; "$JOBQ" wait --timeout 60s "$id" || rc=$?
assert_eq 0 "$rc" "a job within its limits"
assert_eq "1000 read-only lo" "$("$JOBQ" logs "$id" | tr '\n' ' ' | sed 's/ $//')" "what the job saw"

# OOM: a shell doubling a string past 32 MiB.
oom=$(enq m -- sh -c 's=0123456789abcdef; while true; do s="$s$s"; done')
rc=0; "$JOBQ" wait --timeout 60s "$oom" || rc=$?
assert_eq failed "$(job_field "$oom" .state)" "state of an OOM-killed job"
assert_eq oom "$(job_field "$oom" .reason)" "reason of an OOM-killed job"
assert_eq true "$(job_field "$oom" .oom_killed)" "oom_killed"
assert_eq 137 "$rc" "jobq wait on an OOM-killed job"
plain=$(enq m -- sh -c 'exit 137')
rc=0; "$JOBQ" wait --timeout 60s "$plain" || rc=$?
assert_eq "exit code 137" "$(job_field "$plain" .reason)" "a plain exit 137 is not an OOM kill"

# A job may not raise a limit, change the network or become root.
for args in "--memory 1g" "--cpus 2" "--pids 1000" "--network bridge" "--user root" "--user 2000"; do
  rc=0; out=$(enq m $args -- true 2>&1) || rc=$?
  assert_eq 1 "$rc" "enqueue with $args"
  [[ $out == *"never raise them"* ]] || fail "message for $args: $out"
done
rc=0; enq m --memory lots -- true 2>/dev/null || rc=$?
assert_eq 64 "$rc" "a malformed --memory"
rc=0; "$JOBQ" app create bad --image "$TEST_IMAGE" --memory 1k 2>/dev/null || rc=$?
assert_eq 1 "$rc" "an application memory limit below Docker's minimum"

# An application without limits: a job may set its own.
"$JOBQ" app create free --image "$TEST_IMAGE" >/dev/null
id=$(enq free --memory 24m --read-only -- sleep 30)
wait_state "$id" running
name=$(job_field "$id" '.attempts[0].container_name')
assert_eq "25165824 true" "$(docker inspect "$name" --format '{{.HostConfig.Memory}} {{.HostConfig.ReadonlyRootfs}}')" "a job's own limits"
"$JOBQ" cancel "$id" >/dev/null
# Changing the application changes later jobs only.
"$JOBQ" app update m --memory 0 --network "" --writable --user "" >/dev/null
assert_eq '0 "" false ""' "$("$JOBQ" app show m --json | jq -r '.app.resources | "\(.memory_bytes) \"\(.network)\" \(.read_only) \"\(.user)\""')" "updated resources"
echo "PASS"
