# Rows 10a-10e: warm containers (`app create --warm`) against cold launches
# of the same trivial job, on the real dockerd, in one jobqd, sides
# alternating:
#   10a launch latency, one job at a time: the claim (the attempt's
#       created_at: the launch intent committed) to the job's process
#       running, read by the process itself: the job is `adjtimex`, which
#       prints the clock (µs) as it runs (busybox's date has no %N); p50
#       and p99 of WARM_LAT samples each;
#   10b the same from the enqueue (the job's created_at);
#   10c drain: WARM_N jobs `true` from the first enqueue (one `enqueue
#       --batch`) to the last result (`jobq wait` on all), --max-running
#       WARM_P, cold against a pool as large as the burst (--warm WARM_N,
#       full at the start; the time to fill it is reported beside);
#   10e the same drain with a pool of WARM_P (the application's limit,
#       full at the start, refilled as it goes): a sustained stream, where
#       every job still costs the engine one create and start;
#   (WARM_ROUNDS rounds of each side, alternating);
#   10d jobqd's CPU (over IDLE_S) and VmRSS with a pool of WARM_IDLE idle
#       warm containers, the time to start them, and their memory in all
#       (the containers' cgroups, `docker stats`).
# Sourced by run.sh (lib/ and the sizes first).

WL_COLD=() WL_WARM=() WE_COLD=() WE_WARM=() WD_COLD=() WD_WARM=() WD_BURST=() WD_FILL=() WL_HITS=0

# warm_pool_idle NAME APP: the pool's idle containers, as status says.
warm_pool_idle() {
  jobq_at "$1" status --json | jq -r --arg a "$2" '[.status.warm_pools[] | select(.app == $a) | .idle][0] // 0'
}
# warm_wait_idle NAME APP N [seconds]: until the pool has N idle.
warm_wait_idle() {
  local i
  for ((i = 0; i < ${4:-60} * 10; i++)); do
    (($(warm_pool_idle "$1" "$2") >= $3)) && return 0
    sleep 0.1
  done
  return 1
}
# warm_latency_one APP: one job `adjtimex`, waited on; prints "claim-ms
# enqueue-ms warm" (the process's own clock against jobqd's records).
warm_latency_one() {
  local id json ran
  id=$(timeout 30 env JOBQ_SOCKET="$WORK/W.sock" "$JOBQ" enqueue "$1" -q --label "$LABEL" -- adjtimex) || return 1
  timeout 60 env JOBQ_SOCKET="$WORK/W.sock" "$JOBQ" wait --timeout 55s "$id" >/dev/null || return 1
  ran=$(jobq_at W logs "$id" | awk '/tv_sec:/ { s = $2 } /tv_usec:/ { u = $2 } END { printf "%d.%06d", s, u }')
  json=$(jobq_at W show "$id" --json) || return 1
  jq -r '"\(.job.attempts[0].created_at) \(.job.created_at) \(.job.attempts[0].warm)"' <<<"$json" |
    awk -v ran="$ran" "$AWK_TIME"'{
      c = t2s($1); e = t2s($2); if (c == "bad" || e == "bad" || ran + 0 <= 0) exit 1
      printf "%.3f %.3f %s", (ran - c) * 1000, (ran - e) * 1000, $3 }'
}

rows_warm() {
  local i side v a b w r
  start_jobqd W --max-warm "$((WARM_N > 64 ? WARM_N : 64))" || return 1
  jobq_at W app create cold --image "$IMAGE" >/dev/null || return 1
  jobq_at W app create warm --image "$IMAGE" --warm 2 >/dev/null || return 1
  warm_wait_idle W warm 2 || { log "warm: the pool did not fill"; return 1; }
  for ((i = 1; i <= WARM_LAT; i++)); do
    for side in $( ((i % 2)) && echo "cold warm" || echo "warm cold"); do
      sleep "$GAP_S"
      [[ $side == warm ]] && { warm_wait_idle W warm 2 || log "warm: pool not refilled before sample $i"; }
      if v=$(warm_latency_one "$side") && read -r a b w <<<"$v" && isnum "$a"; then
        if [[ $side == warm ]]; then
          WL_WARM+=("$a") WE_WARM+=("$b")
          [[ $w == true ]] && WL_HITS=$((WL_HITS + 1))
        else
          WL_COLD+=("$a") WE_COLD+=("$b")
        fi
      else
        log "warm latency sample $i $side failed"
      fi
    done
  done
  jobq_at W app update warm --warm 0 >/dev/null
  jobq_at W app create dcold --image "$IMAGE" --max-running "$WARM_P" >/dev/null || return 1
  jobq_at W app create dwarm --image "$IMAGE" --max-running "$WARM_P" >/dev/null || return 1
  jobq_at W app create dburst --image "$IMAGE" --max-running "$WARM_P" >/dev/null || return 1
  # One pool at a time: each side's pool is emptied after its round.
  local t0
  for ((r = 1; r <= WARM_ROUNDS; r++)); do
    for side in dcold dburst dwarm; do
      sleep "$PAUSE_S"
      t0=$(now)
      case $side in
        dburst) jobq_at W app update dburst --warm "$WARM_N" >/dev/null &&
          { warm_wait_idle W dburst "$WARM_N" 600 || log "warm: burst pool not full"; } &&
          WD_FILL+=("$(calc %.1f "$(now) - $t0")") ;;
        dwarm) jobq_at W app update dwarm --warm "$WARM_P" >/dev/null &&
          { warm_wait_idle W dwarm "$WARM_P" || log "warm: drain pool not full"; } ;;
      esac
      if v=$(drain_batch W "$side" "$WARM_N") && isnum "$v"; then
        case $side in dcold) WD_COLD+=("$v") ;; dburst) WD_BURST+=("$v") ;; dwarm) WD_WARM+=("$v") ;; esac
        log "warm drain round $r $side: $v jobs/s"
      else
        log "warm drain round $r $side failed"
      fi
      [[ $side == dcold ]] || jobq_at W app update "$side" --warm 0 >/dev/null
    done
  done
  WD_HITS=$(jobq_at W status --json | jq -r '[.status.warm_pools[] | select(.app == "dwarm") | "\(.hits) hits, \(.misses) misses"][0]')
  WB_HITS=$(jobq_at W status --json | jq -r '[.status.warm_pools[] | select(.app == "dburst") | "\(.hits) hits, \(.misses) misses"][0]')
  stop_jobqd W
}

# Row 10d: a pool of WARM_IDLE idle containers.
warm_idle_row() {
  local t0 t1 cpu rss mem
  start_jobqd I --max-warm "$WARM_IDLE" || return 1
  t0=$(now)
  jobq_at I app create idle --image "$IMAGE" --warm "$WARM_IDLE" >/dev/null || return 1
  warm_wait_idle I idle "$WARM_IDLE" 300 || { log "warm: $WARM_IDLE idle containers did not start"; return 1; }
  t1=$(now)
  WI_FILL=$(calc %.1f "$t1 - $t0")
  sleep "$SETTLE_S"
  cpu=$(cpu_pct_over "$PID_I" "$IDLE_S")
  rss=$(rss_kb "$PID_I")
  mem=$(docker stats --no-stream --format '{{.MemUsage}}' $(docker ps -q --filter "label=jobq.instance=${INSTANCES[-1]}") |
    awk '{ v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
           m = u == "GiB" ? 1024 : u == "MiB" ? 1 : u == "KiB" ? 1 / 1024 : 1 / 1048576; t += v * m }
         END { printf "%.1f", t }')
  isnum "${cpu:-}" && isnum "${rss:-}" || return 1
  WI_CPU=$cpu
  WI_RSS=$(calc %.1f "$rss / 1024")
  WI_MEM=$mem
  stop_jobqd I
}

log "rows 10a-10e: warm containers against cold launches"
WARM_T0=$SECONDS
rows_warm || log "rows 10a-10c, 10e: set-up failed"
stop_jobqd W
WI_CPU=
warm_idle_row || log "row 10d: failed"
stop_jobqd I
log "rows 10a-10e took $((SECONDS - WARM_T0)) s"

pct() {  # NAME-OF-ARRAY: "p50 / p99" in ms
  local -n arr=$1
  echo "$(printf '%s\n' "${arr[@]}" | median | xargs printf %.1f) / $(printf '%s\n' "${arr[@]}" | p99 | xargs printf %.1f) ms"
}
wl_what="Launch latency, one job at a time (the job is \`adjtimex\`, which prints the clock as it runs): the claim (launch intent committed) to the job's process running, warm (--warm 2, refilled between samples) vs cold; $WARM_LAT alternating samples each; p50 / p99"
we_what="The same from the enqueue (the job's created_at) to the job's process running"
if ((${#WL_WARM[@]} == WARM_LAT && ${#WL_COLD[@]} == WARM_LAT)); then
  ratio=$(calc %.1f "$(printf '%s\n' "${WL_COLD[@]}" | median) / $(printf '%s\n' "${WL_WARM[@]}" | median)")
  row 10a "$wl_what" "cold/warm p50 ≥ 10" \
    "warm $(pct WL_WARM), cold $(pct WL_COLD): p50 ratio **$ratio** ($WL_HITS of $WARM_LAT warm samples took a warm container)" \
    "$(cmp_met "$ratio" ">=" 10)"
  ratio=$(calc %.1f "$(printf '%s\n' "${WE_COLD[@]}" | median) / $(printf '%s\n' "${WE_WARM[@]}" | median)")
  row 10b "$we_what" "— (reported)" "warm $(pct WE_WARM), cold $(pct WE_COLD): p50 ratio **$ratio**" "—"
else
  error_row 10a "$wl_what" "cold/warm p50 ≥ 10" "a sample failed"
  error_row 10b "$we_what" "— (reported)" "a sample failed"
fi
wd_what="Drain: $WARM_N jobs \`true\` from the first enqueue (one \`enqueue --batch\`) to the last result (\`jobq wait\` on all), --max-running $WARM_P; a pool as large as the burst (--warm $WARM_N, full at the start) vs none; $WARM_ROUNDS alternating round(s) each, medians"
if ((${#WD_BURST[@]} == WARM_ROUNDS && ${#WD_COLD[@]} == WARM_ROUNDS)); then
  mw=$(printf '%s\n' "${WD_BURST[@]}" | median)
  mc=$(printf '%s\n' "${WD_COLD[@]}" | median)
  ratio=$(calc %.2f "$mw / $mc")
  row 10c "$wd_what" "warm/cold ≥ 2" \
    "warm $mw jobs/s, cold $mc jobs/s: ratio **$ratio** (rounds: warm ${WD_BURST[*]}; cold ${WD_COLD[*]}; the warm side: $WB_HITS; its pool filled beforehand in ${WD_FILL[*]} s)" \
    "$(cmp_met "$ratio" ">=" 2)"
else
  error_row 10c "$wd_what" "warm/cold ≥ 2" "a round failed"
fi
wi_what="jobqd with a pool of $WARM_IDLE idle warm containers: its CPU over ${IDLE_S} s and VmRSS; the time to start the pool; the containers' memory in all (\`docker stats\`)"
if [[ -n $WI_CPU ]]; then
  row 10d "$wi_what" "— (reported)" \
    "jobqd $WI_CPU % of one core, $WI_RSS MiB; pool started in $WI_FILL s; $WARM_IDLE containers $WI_MEM MiB in all" "—"
else
  error_row 10d "$wi_what" "— (reported)" "the pool did not start"
fi
we2_what="The same drain with a pool of $WARM_P (the application's --max-running; full at the start, refilled as it goes): a sustained stream, where each job still costs the engine a create and a start"
if ((${#WD_WARM[@]} == WARM_ROUNDS && ${#WD_COLD[@]} == WARM_ROUNDS)); then
  mw=$(printf '%s\n' "${WD_WARM[@]}" | median)
  mc=$(printf '%s\n' "${WD_COLD[@]}" | median)
  ratio=$(calc %.2f "$mw / $mc")
  row 10e "$we2_what" "— (reported)" \
    "warm $mw jobs/s, cold $mc jobs/s: ratio **$ratio** (rounds: warm ${WD_WARM[*]}; the warm side: $WD_HITS)" "—"
else
  error_row 10e "$we2_what" "— (reported)" "a round failed"
fi
