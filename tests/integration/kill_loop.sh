#!/usr/bin/env bash
# jobqd killed with SIGKILL at random moments, again and again, while jobs of
# an application limited to 3 run. At the end: every acknowledged job exists
# and is final with its own exit code, each attempt had exactly one container,
# recorded times equal Docker's (a second start of a container would change
# its StartedAt, so this also shows each ran once), the limit held (judged from the containers'
# own times), and the database passes integrity_check.
#   JOBS=60 KILLS=10 (defaults); the soak script runs this with larger numbers.
source "$(dirname "$0")/lib.sh"
jobs=${JOBS:-60}
kills=${KILLS:-10}
limit=3
start_daemon --keep-containers
"$JOBQ" app create loop --image "$TEST_IMAGE" --max-running $limit >/dev/null
instance=$(instance_id)

kill_loop loop "$jobs" "$kills" --keep-containers
kill_loop_ended "$jobs" "$kills"
ids=("${IDS[@]}")

events=()
for id in "${ids[@]}"; do
  json=$("$JOBQ" show "$id" --json)
  names=$(docker ps -aq --filter "label=jobq.instance=$instance" --filter "label=jobq.job=$id")
  assert_eq 1 "$(wc -w <<<"$names")" "containers of job $id"
  started=$(jq -r .job.started_at <<<"$json")
  finished=$(jq -r .job.finished_at <<<"$json")
  assert_eq "$(docker inspect -f '{{.State.StartedAt}}' "$names")" "$started" "StartedAt of job $id"
  assert_eq "$(docker inspect -f '{{.State.FinishedAt}}' "$names")" "$finished" "FinishedAt of job $id"
  events+=("$(to_ns "$started") 1" "$(to_ns "$finished") -1")
done
# Every container of this instance belongs to an acknowledged job (none extra).
assert_eq "${#ids[@]}" "$(docker ps -aq --filter "label=jobq.instance=$instance" | wc -l)" "containers in all"
max=$(printf '%s\n' "${events[@]}" | sort -k1,1n -k2,2n | awk '{ n += $2; if (n > m) m = n } END { print m }')
((max <= limit)) || fail "$max containers ran at once; the limit is $limit"
stop_daemon
assert_eq ok "$(sqlite3 "$WORK/state/jobq.db" 'PRAGMA integrity_check')" "integrity_check"
echo "PASS (${#ids[@]} jobs, $kills kills, peak $max running)"
