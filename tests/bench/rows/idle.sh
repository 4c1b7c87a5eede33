# Row 7a: an idle jobqd (real dockerd, empty store): its CPU over IDLE_S
# seconds and its VmRSS, reported. Sourced by run.sh (lib/ and the sizes
# first).

idle_what="Idle jobqd (real dockerd, empty store): CPU over ${IDLE_S} s, VmRSS"
if start_jobqd I; then
  sleep "$SETTLE_S"
  c0=$(cpu_ticks "$PID_I")
  t0=$(now)
  sleep "$IDLE_S"
  c1=$(cpu_ticks "$PID_I")
  t1=$(now)
  rss=$(rss_kb "$PID_I")
  if isnum "${c0:-}" && isnum "${c1:-}" && isnum "${rss:-}"; then
    row 7a "$idle_what" "— (reported)" \
      "$(calc %.2f "100 * ($c1 - $c0) / $CLK_TCK / ($t1 - $t0)") % of one core, $(calc %.1f "$rss / 1024") MiB" "—"
  else
    error_row 7a "$idle_what" "— (reported)" "/proc read failed"
  fi
  stop_jobqd I
else
  error_row 7a "$idle_what" "— (reported)" "jobqd did not start"
fi
