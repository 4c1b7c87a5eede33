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
# drain_batch NAME APP N: N jobs `true` of APP through jobqd NAME, from one
# `enqueue --batch` to the last result (`jobq wait` on all); prints jobs/s.
drain_batch() {
  local name=$1 app=$2 n=$3 t0 t1 i ids
  ids=$WORK/drain.$name.$app.$SECONDS.ids
  for ((i = 0; i < n; i++)); do
    printf '{"app":"%s","command":["true"],"labels":{"jobq-bench-run":"%s"}}\n' "$app" "$RUN_ID"
  done >"$WORK/drain.$name.jsonl"
  t0=$(now)
  timeout 120 env JOBQ_SOCKET="$WORK/$name.sock" "$JOBQ" enqueue --batch "$WORK/drain.$name.jsonl" >"$ids" || return 1
  # shellcheck disable=SC2046  # the ids
  timeout 600 env JOBQ_SOCKET="$WORK/$name.sock" "$JOBQ" wait --timeout 590s $(<"$ids") >/dev/null || return 1
  t1=$(now)
  [[ $(wc -l <"$ids") -eq $n ]] || return 1
  calc "%.2f" "$n / ($t1 - $t0)"
}
jobq_at() {  # NAME jobq-arguments...
  local name=$1
  shift
  JOBQ_SOCKET=$WORK/$name.sock "$JOBQ" "$@"
}
