# Row 11: schedules. SCHED_N schedules firing every second for SCHED_S
# seconds through the simulator (SIM; their jobs run there, 10 ms each): for
# the slots of that window, the lag from each slot's time to its job's
# enqueue (the job's created_at, by jobqd's clock) at p50 and p99, how many
# slots had more than one job (doubled) or none (missed), and jobqd's CPU
# over the window. The slots are read from jobqd's database once it has
# stopped (sqlite3). Sourced by run.sh (lib/, the sizes and SIM first).

w11="Schedules: $(thousands "$SCHED_N") schedules firing every second (\`* * * * * *\`) for $SCHED_S s, their jobs run by the simulator; lag from each slot to its job's enqueue (p50 / p99), slots doubled or missed, jobqd's CPU"
schedules_row() {  # sets S_P50 S_P99 S_DOUBLED S_MISSED S_CPU S_SLOTS S_RAN S_HIST
  local i c0 c1 t0 t1 start end db
  start_jobqd S --engine "$SIM" --max-running 0 || return 1
  jobq_at S app create run --image engine-sim/bench:latest --max-running 0 >/dev/null || return 1
  for ((i = 0; i < SCHED_N; i++)); do
    jobq_at S schedule create "s$i" run --cron '* * * * * *' -- run >/dev/null || return 1
  done
  # The window: from the second whole second after the last was made.
  start=$(($(date +%s) + 2))
  end=$((start + SCHED_S))
  sleep "$(calc %.3f "$start - $(now)")"
  c0=$(cpu_ticks "$PID_S") || return 1
  t0=$(now)
  sleep "$(calc %.3f "$end - $(now)")"
  c1=$(cpu_ticks "$PID_S") || return 1
  t1=$(now)
  S_CPU=$(calc %.1f "($c1 - $c0) * 100 / $CLK_TCK / ($t1 - $t0)")
  sleep 1  # the last slot's round commits
  S_HIST=$(jobq_at S metrics | awk '/^jobq_schedule_lag_seconds_bucket\{le="0.1"\}/ { b = $2 } /^jobq_schedule_lag_seconds_count/ { c = $2 } END { if (c > 0) printf "%.2f", b * 100 / c }')
  stop_jobqd S
  db=$WORK/S/state/jobq.db
  # Per (schedule, slot) in the window: its jobs; lag in ms of each.
  sqlite3 "$db" "SELECT schedule, slot, COUNT(*) FROM jobs WHERE schedule IS NOT NULL AND slot>=$start AND slot<$end GROUP BY schedule, slot" >"$WORK/sched.counts" || return 1
  S_SLOTS=$(wc -l <"$WORK/sched.counts")
  S_DOUBLED=$(awk -F'|' '$3 > 1' "$WORK/sched.counts" | wc -l)
  S_MISSED=$((SCHED_N * SCHED_S - S_SLOTS))
  sqlite3 "$db" "SELECT (strftime('%s', substr(created_at, 1, 19)) - slot) * 1000.0 + substr(created_at, 21, 9) / 1000000.0 FROM jobs WHERE schedule IS NOT NULL AND slot>=$start AND slot<$end" >"$WORK/sched.lags" || return 1
  S_P50=$(median <"$WORK/sched.lags")
  S_P99=$(p99 <"$WORK/sched.lags")
  S_RAN=$(sqlite3 "$db" "SELECT COUNT(*) FROM jobs WHERE schedule IS NOT NULL AND slot>=$start AND slot<$end AND state='succeeded'")
}
S_P50='' S_P99='' S_DOUBLED='' S_MISSED='' S_CPU='' S_SLOTS='' S_RAN='' S_HIST=''
if ((HAVE_SQLITE)); then
  schedules_row || log "row 11: a step failed"
  stop_jobqd S
  if isnum "${S_P99:-}" && isnum "${S_MISSED:-}" && isnum "${S_CPU:-}"; then
    met=$(cmp_met "$S_P99" "<" 100)
    [[ $S_DOUBLED == 0 && $S_MISSED == 0 ]] || met=no
    row 11 "$w11" "p99 < 100 ms; 0 doubled, 0 missed" \
      "p50 $(calc %.1f "$S_P50") ms / p99 **$(calc %.1f "$S_P99") ms**; $(thousands "$S_SLOTS") slots: **$S_DOUBLED doubled, $S_MISSED missed**; jobqd $S_CPU % of one core; $(thousands "$S_RAN") of their jobs had run when it stopped; ${S_HIST:-?} % of slots committed within 100 ms (jobq_schedule_lag_seconds)" "$met"
  else
    error_row 11 "$w11" "p99 < 100 ms; 0 doubled, 0 missed" "the schedules' slots could not be read"
  fi
else
  row 11 "$w11" "p99 < 100 ms; 0 doubled, 0 missed" "not measured: no sqlite3 (apt-get install sqlite3)" "—"
fi
