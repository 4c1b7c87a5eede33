# Sourced by run.sh: the jobqd instances of the rows, each on its own socket
# and state directory under WORK; their pids go to PIDS and their instance
# ids to INSTANCES, for cleanup. Defines functions only.

# start_jobqd NAME [jobqd options...]: a jobqd on $WORK/NAME.sock with state
start_jobqd() {
  local name=$1 pid i inst
  shift
  setsid "$JOBQD" --config /dev/null --socket "$WORK/$name.sock" --state-dir "$WORK/$name/state" \
    --log-level "${LOG_LEVEL:-warn}" "$@" >>"$WORK/$name.log" 2>&1 </dev/null &
  pid=$!
  PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  for ((i = 0; i < 100; i++)); do
    if inst=$(JOBQ_SOCKET=$WORK/$name.sock "$JOBQ" status --json 2>/dev/null | jq -r .status.instance); then
      INSTANCES+=("$inst")
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { log "jobqd $name exited at start"; return 1; }
    sleep 0.1
  done
  log "jobqd $name did not answer within 10 s"
  return 1
}
stop_jobqd() {  # NAME
  local var="PID_$1"
  [[ -n ${!var:-} ]] || return 0
  stop_pid "${!var}"
  forget_pid "${!var}"
  printf -v "$var" '%s' ""
}
jobq_at() {  # NAME jobq-arguments...
  local name=$1
  shift
  JOBQ_SOCKET=$WORK/$name.sock "$JOBQ" "$@"
}
