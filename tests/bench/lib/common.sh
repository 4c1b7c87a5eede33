# Sourced by every benchmark script (run.sh, many_running.sh, sim_smoke.sh):
# failing, stopping a process we started, and starting the Docker Engine API
# simulator. Defines functions only.

fail() {  # message: on stderr, and exit 1
  echo "FAIL: $*" >&2
  exit 1
}

stop_pid() {  # pid [seconds]: TERM, wait (default 30 s), then KILL
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < ${2:-30} * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# start_engine_sim SOCKET LOG [engine_sim options...]: starts $ENGINE_SIM
# detached from our output, sets SIM_PID, and waits (5 s at most) for its
# socket; returns 1 if it did not come up.
start_engine_sim() {
  local sock=$1 log=$2 i
  shift 2
  setsid "$ENGINE_SIM" --socket "$sock" "$@" 2>"$log" </dev/null &
  SIM_PID=$!
  for ((i = 0; i < 50; i++)); do
    [[ -S $sock ]] && return 0
    kill -0 "$SIM_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  [[ -S $sock ]]
}
