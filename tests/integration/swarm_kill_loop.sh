#!/usr/bin/env bash
# The kill loop on the swarm runtime: jobqd killed with SIGKILL at random
# moments while jobs of an application limited to 3 run as Swarm services.
# At the end every acknowledged job is final with its own exit code, with one
# attempt, one service and one task (so it ran once: a relaunch would have
# made a second task or service), its recorded times are its container's own
# (the manager's node), and no service of this jobqd is unknown to it.
#   JOBS=30 KILLS=6 (defaults).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/swarm_lib.sh"
jobs=${JOBS:-30}
kills=${KILLS:-6}
start_daemon --keep-containers
swarm_app loop --max-running 3
instance=$(instance_id)

kill_loop loop "$jobs" "$kills" --keep-containers
kill_loop_ended "$jobs" "$kills"
ids=("${IDS[@]}")

for id in "${ids[@]}"; do
  json=$("$JOBQ" show "$id" --json)
  services=$(sdocker service ls -q --filter "label=jobq.instance=$instance" --filter "label=jobq.job=$id")
  assert_eq 1 "$(wc -w <<<"$services")" "services of job $id"
  assert_eq 1 "$(sdocker service ps -q "$services" | wc -l)" "tasks of job $id"
  container=$(jq -r '.job.attempts[0].container_id' <<<"$json")
  assert_eq "$(sdocker inspect -f '{{.State.StartedAt}}' "$container")" \
    "$(jq -r .job.started_at <<<"$json")" "StartedAt of job $id"
done
total=$(sdocker service ls -q --filter "label=jobq.instance=$instance" | wc -l)
assert_eq "${#ids[@]}" "$total" "services of this jobqd (none extra)"
echo "ok: ${#ids[@]} jobs, each ran once with its own result, through $kills kills"
