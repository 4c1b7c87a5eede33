#!/usr/bin/env bash
# kill_loop.sh with a warm pool: jobqd killed with SIGKILL at random moments
# while jobs of an application limited to 3, with 3 warm containers, run. At
# the end every acknowledged job is final with its own exit code in one
# attempt; each attempt's container is the only one of its name, and its
# times are Docker's (FinishedAt; StartedAt, or for a warm run the
# container's own start beside the hand-off); exactly one container ran
# each job (the containers that ran and ended are as many as the jobs); the
# limit held, judged from the jobs' times; the database is sound.
#   JOBS=60 KILLS=10 (defaults).
source "$(dirname "$0")/lib.sh"
jobs=${JOBS:-60}
kills=${KILLS:-10}
limit=3
start_daemon --keep-containers
"$JOBQ" app create loop --image "$TEST_IMAGE" --max-running $limit --warm $limit >/dev/null
instance=$(instance_id)

kill_loop loop "$jobs" "$kills" --keep-containers
kill_loop_ended "$jobs" "$kills"
ids=("${IDS[@]}")

events=() warm=0
for id in "${ids[@]}"; do
  json=$("$JOBQ" show "$id" --json)
  name=$(jq -r '.job.attempts[0].container_name' <<<"$json")
  assert_eq 1 "$(docker ps -aq --filter "name=^/$name\$" | wc -l)" "containers named $name"
  started=$(jq -r .job.started_at <<<"$json")
  finished=$(jq -r .job.finished_at <<<"$json")
  assert_eq "$(docker inspect -f '{{.State.FinishedAt}}' "$name")" "$finished" "FinishedAt of job $id"
  if [[ $(jq -r '.job.attempts[0].warm' <<<"$json") == true ]]; then
    warm=$((warm + 1))
    assert_eq "$(docker inspect -f '{{.State.StartedAt}}' "$name")" "$(jq -r '.job.attempts[0].warm_started_at' <<<"$json")" "container start of warm job $id"
  else
    assert_eq "$(docker inspect -f '{{.State.StartedAt}}' "$name")" "$started" "StartedAt of job $id"
  fi
  events+=("$(to_ns "$started") 1" "$(to_ns "$finished") -1")
done
ended=$(docker ps -aq --filter "label=jobq.instance=$instance" --filter status=exited | wc -l)
assert_eq "${#ids[@]}" "$ended" "containers that ran and ended"
max=$(printf '%s\n' "${events[@]}" | sort -k1,1n -k2,2n | awk '{ n += $2; if (n > m) m = n } END { print m }')
((max <= limit)) || fail "$max jobs ran at once; the limit is $limit"
((warm > 0)) || fail "no job ran warm"
stop_daemon
assert_eq ok "$(sqlite3 "$WORK/state/jobq.db" 'PRAGMA integrity_check')" "integrity_check"
echo "PASS (${#ids[@]} jobs, $warm warm, $kills kills, peak $max running)"
