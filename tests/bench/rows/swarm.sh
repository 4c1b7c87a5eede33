# Rows 9a, 9b: jobq's Swarm runtime (`app create --runtime swarm`) on a
# private one-node swarm (tests/integration/swarm/private_swarm.sh: its own
# dockerd in its own namespaces, never the machine's engine), against
# Docker's own client on the same swarm, sides alternating:
#   9a  drain: SWARM_N jobs `true` from the first enqueue to the last result
#       (`jobq wait` on all), the application's --max-running SWARM_P,
#       against `docker service create --detach` ×SWARM_N, SWARM_P in flight,
#       each waited on until its task is over (SWARM_ROUNDS rounds each);
#   9b  launch latency, one job at a time: the job's created_at (jobqd's
#       clock, at enqueue) to its started_at (the task's container's
#       StartedAt), against the `docker service create` call to the task's
#       container's StartedAt (SWARM_LAT samples each).
# The swarm comes up at the start (with the test image, tasks told not to
# pull it) and goes down at the end; cleanup takes it down too (SWARM_DIRS)
# if the run ends early. Every service made directly carries LABEL and is
# removed. Where a private swarm cannot run (private_swarm.sh exits 125) the
# rows say so and are not measured. Sourced by run.sh (lib/ and the sizes
# first).

SWARM_SH=$ROOT/tests/integration/swarm/private_swarm.sh
SW_DRAIN_JOBQ=() SW_DRAIN_DIRECT=() SW_LAT_JOBQ=() SW_LAT_DIRECT=() SW_LAT_JOBQ_CLIENT=()
SWARM_SKIP=

sw_docker() { docker -H "$SWARM_HOST" "$@"; }

# sw_task SERVICE_ID: the service's (one) task as "state container-id" from
# the manager's API (curl and jq: cheap enough to poll).
sw_task() {
  timeout 10 curl -sf --unix-socket "$SWARM_SOCK" --get \
    --data-urlencode "filters={\"service\":[\"$1\"]}" http://swarm/tasks |
    jq -r 'if length == 0 then "none -" else (.[0].Status | "\(.State) \(.ContainerStatus.ContainerID // "-")") end'
}
# sw_await SERVICE_ID: until its task is in a terminal state (60 s at most);
# prints "state container-id".
sw_await() {
  local t st i
  for ((i = 0; i < 1200; i++)); do
    t=$(sw_task "$1") || t="error -"
    st=${t%% *}
    case $st in
      complete | failed | rejected | shutdown | orphaned | remove) echo "$t"; return 0 ;;
    esac
    sleep 0.05
  done
  return 1
}
# sw_direct_one: one service `true`, made and waited on; prints "id state".
sw_direct_one() {
  local sid t
  sid=$(timeout 60 docker -H "$SWARM_HOST" service create --detach --quiet --restart-condition none \
    --no-resolve-image --label "$LABEL" "$IMAGE" true 2>>"$WORK/swarm-direct.log") || return 1
  t=$(sw_await "$sid") || { echo "$sid timeout"; return 1; }
  echo "$sid ${t%% *}"
}
export -f sw_task sw_await sw_direct_one
export SWARM_HOST SWARM_SOCK LABEL IMAGE WORK

# sw_remove_services: every service of this run on the swarm (made directly,
# LABEL, or by jobqd S, its instance label).
sw_remove_services() {
  local ids
  ids=$(sw_docker service ls -q --filter "label=$LABEL" 2>/dev/null)
  [[ -n ${SW_INSTANCE:-} ]] && ids+=" $(sw_docker service ls -q --filter "label=jobq.instance=$SW_INSTANCE" 2>/dev/null)"
  # shellcheck disable=SC2086  # a list of ids
  [[ -z ${ids// /} ]] || sw_docker service rm $ids >/dev/null 2>&1 || true
}

# swarm_drain_SIDE ROUND: prints jobs/s.
swarm_drain_direct() {
  local r=$1 t0 t1 rc=0 ids
  t0=$(now)
  seq "$SWARM_N" | timeout 600 xargs -P "$SWARM_P" -I{} bash -c sw_direct_one \
    >"$WORK/swarm-direct.$r.out" 2>>"$WORK/swarm-direct.log" || rc=1
  t1=$(now)
  ids=$(awk '{ print $1 }' "$WORK/swarm-direct.$r.out")
  # shellcheck disable=SC2086  # the ids
  [[ -z $ids ]] || sw_docker service rm $ids >/dev/null 2>&1
  ((rc == 0)) || return 1
  [[ $(grep -c ' complete$' "$WORK/swarm-direct.$r.out") -eq $SWARM_N ]] || return 1
  calc "%.2f" "$SWARM_N / ($t1 - $t0)"
}
swarm_drain_jobq() { drain_batch S swarm "$SWARM_N"; }
# swarm_latency_SIDE: prints ms to the task's container's StartedAt (jobq:
# "created_at-based client-based", the second from just before `jobq enqueue`).
swarm_latency_jobq() {
  local t0 id times
  t0=$(now)
  id=$(timeout 30 env JOBQ_SOCKET="$WORK/S.sock" "$JOBQ" enqueue swarm -q --label "$LABEL" -- true) || return 1
  timeout 60 env JOBQ_SOCKET="$WORK/S.sock" "$JOBQ" wait --timeout 55s "$id" >/dev/null || return 1
  times=$(jobq_at S show "$id" --json | jq -r '"\(.job.created_at) \(.job.started_at)"') || return 1
  awk -v t0="$t0" -v c="${times% *}" -v s="${times#* }" "$AWK_TIME"'BEGIN {
    x = t2s(c); y = t2s(s); if (x == "bad" || y == "bad") exit 1
    printf "%.3f %.3f", (y - x) * 1000, (y - t0) * 1000 }'
}
swarm_latency_direct() {
  local t0 sid t cid started
  t0=$(now)
  sid=$(timeout 30 docker -H "$SWARM_HOST" service create --detach --quiet --restart-condition none \
    --no-resolve-image --label "$LABEL" "$IMAGE" true 2>>"$WORK/swarm-direct.log") || return 1
  t=$(sw_await "$sid") || { sw_docker service rm "$sid" >/dev/null 2>&1; return 1; }
  cid=${t#* }
  started=$(sw_docker inspect -f '{{.State.StartedAt}}' "$cid" 2>>"$WORK/swarm-direct.log")
  sw_docker service rm "$sid" >/dev/null 2>&1
  [[ ${t%% *} == complete ]] || return 1
  awk -v t0="$t0" -v s="$started" "$AWK_TIME"'BEGIN { x = t2s(s); if (x == "bad") exit 1; printf "%.3f", (x - t0) * 1000 }'
}

rows_swarm() {
  local rc=0 r i side v a b
  mkdir "$WORK/swarm"
  SWARM_DIRS+=("$WORK/swarm")
  SWARM_PREFER_OFFLINE_IMAGE=1 IMAGE=$IMAGE bash "$SWARM_SH" up "$WORK/swarm" 1 2>"$WORK/swarm-up.log" || rc=$?
  if ((rc == 125)); then
    SWARM_SKIP="a private swarm cannot run here: $(sed -n 's/^private_swarm: cannot run here: //p' "$WORK/swarm-up.log" | head -n 1)"
    return 1
  fi
  ((rc == 0)) || { log "the private swarm did not come up (private_swarm.sh exited $rc)"; return 1; }
  # shellcheck source=/dev/null
  source "$WORK/swarm/env"
  export SWARM_HOST SWARM_SOCK
  log "private swarm up in $WORK/swarm"
  start_jobqd S --launch-workers "$SWARM_P" --max-running 0 --swarm-host "$SWARM_HOST" || return 1
  SW_INSTANCE=${INSTANCES[-1]}
  jobq_at S app create swarm --image "$IMAGE" --runtime swarm --max-running "$SWARM_P" >/dev/null || return 1
  for ((r = 1; r <= SWARM_ROUNDS; r++)); do
    for side in direct jobq; do
      sleep "$PAUSE_S"  # the swarm settles (removals of the previous side)
      if v=$(swarm_drain_"$side" "$r") && isnum "$v"; then
        [[ $side == jobq ]] && SW_DRAIN_JOBQ+=("$v") || SW_DRAIN_DIRECT+=("$v")
        log "swarm drain round $r $side: $v jobs/s"
      else
        log "swarm drain round $r $side failed"
      fi
    done
  done
  sleep "$PAUSE_S"
  for ((i = 1; i <= SWARM_LAT; i++)); do
    for side in $( ((i % 2)) && echo "direct jobq" || echo "jobq direct"); do
      sleep "$GAP_S"  # an idle queue and swarm
      if v=$(swarm_latency_"$side") && read -r a b <<<"$v" && isnum "$a"; then
        if [[ $side == jobq ]]; then
          SW_LAT_JOBQ+=("$a") SW_LAT_JOBQ_CLIENT+=("$b")
        else
          SW_LAT_DIRECT+=("$a")
        fi
      else
        log "swarm latency sample $i $side failed"
      fi
    done
  done
}

log "rows 9a, 9b: jobq's Swarm runtime on a private one-node swarm"
SW_T0=$SECONDS
rows_swarm || [[ -n $SWARM_SKIP ]] || log "rows 9a, 9b: set-up failed"
stop_jobqd S
if [[ -f $WORK/swarm/env ]]; then
  sw_remove_services
  left=$(sw_docker service ls -q 2>/dev/null | wc -l)
  ((left == 0)) || log "swarm: $left service(s) left at the end"
fi
bash "$SWARM_SH" down "$WORK/swarm" || log "swarm: private_swarm.sh down failed"
SWARM_DIRS=()
log "rows 9a, 9b took $((SECONDS - SW_T0)) s (the swarm's set-up and teardown included)"

sw_drain_what="Swarm drain (private one-node swarm): $SWARM_N jobs \`true\` from the first enqueue (one \`jobq enqueue --batch\`) to the last result (\`jobq wait\` on all), an application --runtime swarm --max-running $SWARM_P; vs \`docker service create --detach --restart-condition none --no-resolve-image\` ×$SWARM_N ($SWARM_P in flight, xargs -P$SWARM_P), each until its task is over (the manager's /tasks polled every 50 ms with curl), the services removed after; $SWARM_ROUNDS alternating round(s) each, medians"
sw_lat_what="Swarm launch latency, one job at a time: created_at (enqueue) to started_at (the task's container's StartedAt), vs \`\$EPOCHREALTIME\` just before \`docker service create --detach\` to the task's container's StartedAt (\`docker inspect\` on the manager); $SWARM_LAT alternating samples each; medians (p50)"
if [[ -n $SWARM_SKIP ]]; then
  row 9a "$sw_drain_what" "jobq/direct ≥ 0.95" "not measured: $SWARM_SKIP" "—" text
  row 9b "$sw_lat_what" "— (reported)" "not measured: $SWARM_SKIP" "—" text
else
  if ((${#SW_DRAIN_JOBQ[@]} == SWARM_ROUNDS && ${#SW_DRAIN_DIRECT[@]} == SWARM_ROUNDS)); then
    mj=$(printf '%s\n' "${SW_DRAIN_JOBQ[@]}" | median)
    md=$(printf '%s\n' "${SW_DRAIN_DIRECT[@]}" | median)
    ratio=$(calc "%.2f" "$mj / $md")
    row 9a "$sw_drain_what" "jobq/direct ≥ 0.95" \
      "jobq $mj jobs/s, direct $md jobs/s: ratio **$ratio** (rounds: jobq ${SW_DRAIN_JOBQ[*]}; direct ${SW_DRAIN_DIRECT[*]})" \
      "$(cmp_met "$ratio" ">=" 0.95)"
  else
    error_row 9a "$sw_drain_what" "jobq/direct ≥ 0.95" "a round failed"
  fi
  if ((${#SW_LAT_JOBQ[@]} == SWARM_LAT && ${#SW_LAT_DIRECT[@]} == SWARM_LAT)); then
    mj=$(printf '%s\n' "${SW_LAT_JOBQ[@]}" | median)
    md=$(printf '%s\n' "${SW_LAT_DIRECT[@]}" | median)
    mc=$(printf '%s\n' "${SW_LAT_JOBQ_CLIENT[@]}" | median)
    row 9b "$sw_lat_what" "— (reported)" \
      "jobq $(calc %.1f "$mj") ms, direct $(calc %.1f "$md") ms: added **$(calc %.1f "$mj - $md") ms** (jobq from just before \`jobq enqueue\`: $(calc %.1f "$mc") ms)" "—"
  else
    error_row 9b "$sw_lat_what" "— (reported)" "a sample failed"
  fi
fi
