# Row 8: abusive clients, against a jobqd on the simulator (SIM); needs root
# (otherwise not measured). A real unprivileged user (created here, removed
# after) opens ABUSE_CLIENTS connections, each sending `list` (limit 0) over
# ABUSE_JOBS jobs of 3 KB env and never reading; meanwhile another user's
# `jobq status`, ABUSE_SAMPLES times, and jobqd's VmRSS. Sourced by run.sh
# (lib/, the sizes and SIM first).

w8="Abusive clients: $ABUSE_CLIENTS connections of one user each send \`list\` over $(thousands "$ABUSE_JOBS") jobs of 3 KB env and never read (simulator engine); jobqd's peak VmRSS over its baseline, and another user's \`jobq status\`, $ABUSE_SAMPLES samples"
abusive_clients() {  # sets A_BASE A_PEAK A_P50 A_MAX (kB, kB, ms, ms)
  local i ms r t0 samples=()
  getent group jobq-bench-abuse >/dev/null || groupadd jobq-bench-abuse || return 1
  for u in jobq-bench-abuser jobq-bench-other; do
    getent passwd $u >/dev/null || useradd --no-create-home --shell /usr/sbin/nologin -G jobq-bench-abuse $u || return 1
  done
  chmod 711 "$WORK"
  start_jobqd Z --engine "$SIM" --socket-group jobq-bench-abuse || return 1
  jobq_at Z app create t --image engine-sim/bench:latest >/dev/null && jobq_at Z app pause t >/dev/null || return 1
  awk -v n="$ABUSE_JOBS" -v e="$(head -c 3000 /dev/zero | tr '\0' x)" \
    'BEGIN { for (i = 0; i < n; i++) printf "{\"app\":\"t\",\"command\":[\"true\"],\"env\":{\"E\":\"%s\"}}\n", e }' >"$WORK/abuse.jsonl"
  timeout 120 env JOBQ_SOCKET="$WORK/Z.sock" "$JOBQ" enqueue --batch "$WORK/abuse.jsonl" >/dev/null || return 1
  printf '{"v":1,"cmd":"list","args":{"limit":0}}\n' >"$WORK/abuse.req"
  chmod 644 "$WORK/abuse.req"
  sleep "$SETTLE_S"
  A_BASE=$(awk '/^VmRSS/ {print $2}' "/proc/$PID_Z/status")
  A_PEAK=$A_BASE
  for ((i = 0; i < ABUSE_CLIENTS; i++)); do
    # Sends the request, then holds the connection without reading (-u).
    setpriv --reuid jobq-bench-abuser --regid "$(id -g jobq-bench-abuser)" --init-groups \
      sh -c '(cat "$1"; sleep "$3") | timeout -s KILL "$3" socat -u - "UNIX-CONNECT:$2"' \
      sh "$WORK/abuse.req" "$WORK/Z.sock" "$ABUSE_HOLD_S" 2>/dev/null &
    A_PIDS+=($!)
  done
  sleep 1
  for ((i = 0; i < ABUSE_SAMPLES; i++)); do
    t0=$(now)
    setpriv --reuid jobq-bench-other --regid "$(id -g jobq-bench-other)" --init-groups \
      env JOBQ_SOCKET="$WORK/Z.sock" timeout 60 "$JOBQ" status >/dev/null || return 1
    samples+=("$(calc %.1f "($(now) - $t0) * 1000")")
    r=$(awk '/^VmRSS/ {print $2}' "/proc/$PID_Z/status")
    ((r > A_PEAK)) && A_PEAK=$r
    sleep 0.25
  done
  A_P50=$(printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  A_MAX=$(printf '%s\n' "${samples[@]}" | sort -n | tail -n 1)
}
if (($(id -u) != 0)); then
  row 8 "$w8" "< 64 MiB; < 1000 ms" "not measured: needs root to create the test users" "—"
else
  log "row 8: abusive clients"
  A_BASE='' A_PEAK='' A_P50='' A_MAX='' A_PIDS=()
  abusive_clients || log "row 8: a step failed"
  ((${#A_PIDS[@]} == 0)) || wait "${A_PIDS[@]}" 2>/dev/null || true  # each ends after ABUSE_HOLD_S
  stop_jobqd Z
  for u in jobq-bench-abuser jobq-bench-other; do userdel $u 2>/dev/null; done
  groupdel jobq-bench-abuse 2>/dev/null
  chmod 700 "$WORK"
  if isnum "${A_MAX:-}" && isnum "${A_PEAK:-}"; then
    grown=$(calc %.1f "($A_PEAK - $A_BASE) / 1024")
    met=no
    [[ $(cmp_met "$grown" "<" 64) == yes && $(cmp_met "$A_MAX" "<" 1000) == yes ]] && met=yes
    row 8 "$w8" "growth < 64 MiB (--max-user-buffer); status max < 1000 ms" \
      "RSS **+$grown MiB** (baseline $(calc %.1f "$A_BASE / 1024") MiB, peak $(calc %.1f "$A_PEAK / 1024") MiB); status p50 **$A_P50 ms**, max **$A_MAX ms**" "$met"
  else
    error_row 8 "$w8" "growth < 64 MiB; status max < 1000 ms" "the clients or the samples failed"
  fi
fi
