# Row 7b: jobqd's CPU time per 1,000 jobs run: CPU_JOBS jobs of 10 ms on the
# simulator (SIM), batch enqueue to `jobq wait`; beside it, the same over the
# jobq rounds of row 1 on the real dockerd ($WORK/drain.jobqd.ticks, when
# rows/real_docker.sh left it). Reported. Sourced by run.sh (lib/, the sizes
# and SIM first).

w7b="jobqd CPU time (utime+stime) per 1,000 jobs run: $(thousands "$CPU_JOBS") jobs of 10 ms (simulator), batch enqueue to \`jobq wait\`"
cpu_per_jobs() {  # sets CPU_MS (per 1,000 jobs) and WALL
  local c0 c1 t0 t1
  start_jobqd C --engine "$SIM" --max-running 0 || return 1
  jobq_at C app create run --image engine-sim/bench:latest --max-running 0 >/dev/null || return 1
  awk -v n="$CPU_JOBS" 'BEGIN { for (i = 0; i < n; i++) print "{\"app\":\"run\",\"command\":[\"run\"]}" }' >"$WORK/cpu.jsonl"
  sleep "$SETTLE_S"
  c0=$(cpu_ticks "$PID_C") || return 1
  t0=$(now)
  timeout 120 env JOBQ_SOCKET="$WORK/C.sock" "$JOBQ" enqueue --batch "$WORK/cpu.jsonl" >"$WORK/cpu.ids" || return 1
  # shellcheck disable=SC2046
  timeout 300 env JOBQ_SOCKET="$WORK/C.sock" "$JOBQ" wait --timeout 290s $(<"$WORK/cpu.ids") >/dev/null || return 1
  t1=$(now)
  c1=$(cpu_ticks "$PID_C") || return 1
  CPU_MS=$(calc %.0f "($c1 - $c0) * 1000 / $CLK_TCK * 1000 / $CPU_JOBS")
  WALL=$(calc %.1f "$t1 - $t0")
}
CPU_MS='' WALL=''
cpu_per_jobs
stop_jobqd C
if isnum "${CPU_MS:-}"; then
  real=
  if [[ -s $WORK/drain.jobqd.ticks ]]; then
    n=$(wc -l <"$WORK/drain.jobqd.ticks")
    real="; on the real dockerd, over the $((n * DRAIN_N)) jobs of row 1's jobq rounds (inspect, output, removal included): $(awk -v hz="$CLK_TCK" -v jobs="$((n * DRAIN_N))" '{ t += $1 } END { printf "%.0f", t * 1000 / hz * 1000 / jobs }' "$WORK/drain.jobqd.ticks") ms per 1,000 jobs"
  fi
  row 7b "$w7b" "— (reported)" "**$CPU_MS ms** of CPU per 1,000 jobs ($CPU_JOBS jobs in $WALL s)$real" "—"
else
  error_row 7b "$w7b" "— (reported)" "the jobs did not all run"
fi
