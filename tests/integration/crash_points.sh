#!/usr/bin/env bash
# jobqd killed (SIGKILL) at each named point of the launch and finish paths,
# then started again: the job ends with its own exit code, its attempt had
# exactly one container and that container ran exactly once.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null
instance=$(instance_id)
stop_daemon

for point in after_intent_commit after_create after_start before_result_commit after_result_commit; do
  since=$(date +%s)
  JOBQD_CRASH_AT=$point start_daemon
  id=$(enq t -- sh -c 'sleep 1; exit 4')
  await_crash "$point"  # jobqd kills itself when the job reaches the point

  start_daemon
  rc=0; "$JOBQ" wait --timeout 60s "$id" || rc=$?
  assert_eq 4 "$rc" "$point: job exit code after the restart"
  assert_eq failed "$(job_field "$id" .state)" "$point: job state"
  assert_eq 1 "$(job_field "$id" '.attempts | length')" "$point: attempts"
  assert_eq 1 "$(engine_events "$since" create "jobq.instance=$instance" "jobq.job=$id")" "$point: containers created"
  assert_eq 1 "$(engine_events "$since" start "jobq.instance=$instance" "jobq.job=$id")" "$point: container starts"
  # The container is removed once its result is recorded, leftovers included.
  for _ in $(seq 1 50); do
    [[ -z $(docker ps -aq --filter "label=jobq.instance=$instance" --filter "label=jobq.job=$id") ]] && break
    sleep 0.1
  done
  assert_eq "" "$(docker ps -aq --filter "label=jobq.instance=$instance" --filter "label=jobq.job=$id")" "$point: container left behind"
  stop_daemon
  echo "ok: $point"
done
echo "PASS"
