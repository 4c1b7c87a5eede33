# Row 7a: an idle jobqd (real dockerd, empty store): its CPU over IDLE_S
# seconds and its VmRSS, reported. Sourced by run.sh (lib/ and the sizes
# first).

idle_what="Idle jobqd (real dockerd, empty store): CPU over ${IDLE_S} s, VmRSS"
if start_jobqd I; then
  sleep "$SETTLE_S"
  cpu=$(cpu_pct_over "$PID_I" "$IDLE_S")
  rss=$(rss_kb "$PID_I")
  if isnum "${cpu:-}" && isnum "${rss:-}"; then
    row 7a "$idle_what" "— (reported)" "$cpu % of one core, $(calc %.1f "$rss / 1024") MiB" "—"
  else
    error_row 7a "$idle_what" "— (reported)" "/proc read failed"
  fi
  stop_jobqd I
else
  error_row 7a "$idle_what" "— (reported)" "jobqd did not start"
fi
