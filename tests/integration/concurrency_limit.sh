#!/usr/bin/env bash
# An application with --max-running 2 given 8 jobs of one second never has
# more than 2 containers running at once, judged by the containers' own
# start and finish times; and it does run 2 at once (launches are parallel).
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create limited --image "$TEST_IMAGE" --max-running 2 >/dev/null

ids=()
for _ in $(seq 1 8); do ids+=("$(enq limited -- sleep 1)"); done
"$JOBQ" wait --timeout 120s "${ids[@]}"

events=()
for id in "${ids[@]}"; do
  json=$("$JOBQ" show "$id" --json)
  assert_eq succeeded "$(jq -r .job.state <<<"$json")" "state of job $id"
  events+=("$(to_ns "$(jq -r .job.started_at <<<"$json")") 1")
  events+=("$(to_ns "$(jq -r .job.finished_at <<<"$json")") -1")
done
# Sweep over the events in time order (a finish sorts before a start at the same instant).
max=$(printf '%s\n' "${events[@]}" | sort -k1,1n -k2,2n | awk '{ n += $2; if (n > m) m = n } END { print m }')
((max <= 2)) || fail "$max containers of the application ran at once; the limit is 2"
assert_eq 2 "$max" "containers running at once at the peak"
echo "PASS (peak $max)"
