#!/usr/bin/env bash
# Warm launches through crashes: jobqd killed (SIGKILL) at each point of a
# hand-off (the intent committed; the container renamed to the attempt's
# run; the job file written) and of the result, then started again: the job
# ends with its own exit code, in one attempt, and exactly one container ran
# it (one container of this jobqd ended under a run's name: a second
# hand-off would end another).
source "$(dirname "$0")/lib.sh"
start_daemon --keep-containers
"$JOBQ" app create t --image "$TEST_IMAGE" --warm 2 >/dev/null
instance=$(instance_id)
stop_daemon

idle() { "$JOBQ" status --json | jq -r '[.status.warm_pools[] | select(.app == "t") | .idle][0] // 0'; }
for point in after_intent_commit after_warm_rename after_handoff before_result_commit after_result_commit; do
  JOBQD_CRASH_AT=$point start_daemon --keep-containers
  for _ in $(seq 1 $((150 * TIME_FACTOR))); do
    [[ $(idle) == 2 ]] && break
    sleep 0.1
  done
  assert_eq 2 "$(idle)" "$point: warm containers before the job"
  since=$(date +%s.%N)
  id=$(enq t -- sh -c 'echo ran; sleep 1; exit 4')
  await_crash "$point"

  start_daemon --keep-containers
  rc=0; "$JOBQ" wait --timeout 60s "$id" || rc=$?
  assert_eq 4 "$rc" "$point: job exit code after the restart"
  assert_eq 1 "$(job_field "$id" '.attempts | length')" "$point: attempts"
  [[ $point == after_intent_commit ]] || assert_eq true "$(job_field "$id" '.attempts[0].warm')" "$point: warm"
  assert_eq ran "$("$JOBQ" logs "$id")" "$point: output"
  sleep 0.5
  # (Idle containers the crashed jobqd left are removed by the next one,
  # under their pool names: they ran no job.)
  assert_eq 1 "$(docker events --since "$since" --until "$(date +%s.%N)" --filter event=die \
    --filter type=container --filter "label=jobq.instance=$instance" \
    --format '{{.Actor.Attributes.name}}' | grep -vc -- "-warm-")" \
    "$point: containers that ran a job"
  stop_daemon
  echo "ok: $point"
done
echo PASS
