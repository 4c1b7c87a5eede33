# Sourced by run.sh: the end of a run, however it ends. cleanup (the EXIT
# trap) stops what the run started (task-spooler servers, the PIDS, the
# private swarms of SWARM_DIRS, the containers labelled LABEL or of the
# INSTANCES, the image it built, the dockerd it started), shows the tails of the logs when the run failed, and
# removes WORK; start_watchdog ends the run after BUDGET_S seconds. Defines
# functions only.

forget_pid() {  # pid: stopped, so cleanup must not signal it (the number may be reused)
  local p kept=()
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

cleanup() {
  local rc=$? pid ids s
  trap '' PIPE TERM INT
  [[ -n $WATCHDOG ]] && kill "$WATCHDOG" 2>/dev/null
  for s in "${TSP_SOCKETS[@]}"; do TS_SOCKET=$s timeout 10 tsp -K >/dev/null 2>&1 || true; done
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  for s in "${SWARM_DIRS[@]}"; do
    timeout 60 bash "$ROOT/tests/integration/swarm/private_swarm.sh" down "$s" >/dev/null 2>&1 || true
  done
  ids=$(docker ps -aq --filter "label=$LABEL" 2>/dev/null || true)
  for s in "${INSTANCES[@]}"; do ids+=" $(docker ps -aq --filter "label=jobq.instance=$s" 2>/dev/null || true)"; done
  # shellcheck disable=SC2086  # a list of ids
  [[ -z ${ids// /} ]] || docker rm -f $ids >/dev/null 2>&1 || true
  ((BUILT_IMAGE)) && docker rmi -f "$IMAGE" >/dev/null 2>&1
  [[ -n $DOCKERD_PID ]] && stop_pid "$DOCKERD_PID" 60
  if ((rc != 0 || ERRORS)); then
    for f in "$WORK"/*.log; do
      [[ -s $f ]] || continue
      echo "---- $(basename "$f") (tail) ----" >&2
      tail -n 15 "$f" >&2
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}

# start_watchdog: a loop that ends the run (TERM) after BUDGET_S seconds, and
# ends by itself when the run does; sets WATCHDOG.
start_watchdog() {
  (
    while ((SECONDS < BUDGET_S)); do
      kill -0 $$ 2>/dev/null || exit 0
      sleep 1
    done
    echo "bench: time budget of ${BUDGET_S} s exceeded; stopping" >&2
    kill -TERM $$ 2>/dev/null
  ) &
  WATCHDOG=$!
}
