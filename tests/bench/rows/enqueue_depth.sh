# Rows 4-5, jobqd against the simulator (SIM), apps paused so that nothing
# runs: one measurement pass (rows_enqueue), then the rows.
#   4a  one `jobq enqueue` process, start to exit (ONE_N, median);
#   4b  `jobq enqueue --batch` of BATCH_N jobs into an empty store;
#   4c  8 clients (enqueue_load), LOAD_N single enqueues, empty store
#       (LOAD_ROUNDS rounds), with jobqd's CPU and its busiest threads;
#   4d  the same jobs added with task-spooler, when it is there;
#   5a  the rate of 4c with DEPTH_N pending jobs in the store;
#   5b, 5c  `jobq list --limit 50` and `jobq show ID` on that deep store;
#   5d, 5e  jobqd's VmRSS, the store's files and WAL at that point;
#   5f  the query plans of the claim on it (`EXPLAIN QUERY PLAN`, sqlite3).
# Sourced by run.sh (lib/, the sizes, SIM, HAVE_TSP and HAVE_SQLITE first).

ONE_MS=() LOAD_E=() LOAD_D=() LOAD_T=() LIST_MS=() SHOW_MS=() LOAD_E_CPU=() LOAD_E_BUSY=() LOAD_E_T1=() LOAD_E_T2=()
BATCH_RATE='' DEPTH_OK=0

tsp_round() {  # round: sets TSP_RATE, jobs/s of LOAD_N `tsp` adds, 8 in parallel
  local dir=$WORK/tsp.$1 t0 t1 rc=0 per left i
  TSP_RATE=
  mkdir -p "$dir"
  local -a env=(TS_SOCKET="$dir/socket" TMPDIR="$dir" TS_MAXFINISHED=$((LOAD_N + 100)) TS_SLOTS=1)
  TSP_SOCKETS+=("$dir/socket")
  env "${env[@]}" timeout 10 tsp -S 1 >/dev/null 2>&1 || return 1  # starts the server
  per=$(((LOAD_N + 7) / 8))
  t0=$(now)
  # shellcheck disable=SC2016  # expanded by the inner sh
  seq "$LOAD_N" | env "${env[@]}" timeout 300 xargs -P 8 -n "$per" \
    sh -c 'for i; do tsp -n -L x true >/dev/null || exit 255; done' sh || rc=1
  t1=$(now)
  # Let it run what it queued, then end the server.
  for ((i = 0; i < 1200; i++)); do
    left=$(env "${env[@]}" timeout 10 tsp -l 2>/dev/null | awk 'NR > 1 && ($2 == "queued" || $2 == "running")' | wc -l)
    [[ $left -eq 0 ]] && break
    sleep 0.1
  done
  env "${env[@]}" timeout 10 tsp -K >/dev/null 2>&1
  ((rc == 0)) || return 1
  TSP_RATE=$(calc "%.0f" "$LOAD_N / ($t1 - $t0)")
}
load_jobqd() {  # NAME: prints acknowledged jobs/s of LOAD_N single enqueues by 8 clients,
  # jobqd's CPU (% of one core), the machine's busy % and jobqd's two busiest
  # threads (% of one core each) meanwhile
  local out pid_var="PID_$1" c0 c1 s0 s1 t0 t1 top
  thread_ticks "${!pid_var}" >"$WORK/threads.0"
  c0=$(cpu_ticks "${!pid_var}") s0=$(sys_ticks) t0=$(now)
  out=$(timeout 300 "$ENQUEUE_LOAD" "$WORK/$1.sock" paused 8 "$LOAD_N" 2>>"$WORK/enqueue_load.log") || return 1
  c1=$(cpu_ticks "${!pid_var}") s1=$(sys_ticks) t1=$(now)
  thread_ticks "${!pid_var}" >"$WORK/threads.1"
  top=$(awk -v hz="$CLK_TCK" -v secs="$(calc %.6f "$t1 - $t0")" 'FNR == NR { a[$1] = $2; next }
    { printf "%.0f\n", 100 * ($2 - a[$1]) / hz / secs }' "$WORK/threads.0" "$WORK/threads.1" | sort -rn | head -n 2 | paste -sd' ')
  jq -e '.errors == 0' <<<"$out" >/dev/null || return 1
  echo "$(jq -r .per_second <<<"$out") $(calc %.0f "100 * ($c1 - $c0) / $CLK_TCK / ($t1 - $t0)") $(sys_busy "$s0" "$s1") ${top:-? ?}"
}

rows_enqueue() {
  local i r v c b t0 t1 t2 side
  start_jobqd E --engine "$SIM" || return 1
  start_jobqd D --engine "$SIM" || return 1
  for n in E D; do
    jobq_at "$n" app create paused --image engine-sim/bench:latest --max-running 0 >/dev/null || return 1
    jobq_at "$n" app pause paused >/dev/null || return 1
  done
  # 4a: one `jobq enqueue` process, start to exit.
  for ((i = 0; i < ONE_N; i++)); do
    t0=$(now)
    JOBQ_SOCKET=$WORK/E.sock "$JOBQ" enqueue paused -q -- true >/dev/null || { log "enqueue failed"; return 1; }
    t1=$(now)
    ONE_MS+=("$(calc %.3f "($t1 - $t0) * 1000")")
  done
  # 4b: a batch of BATCH_N into D's empty store; then D is filled to DEPTH_N.
  awk -v n="$BATCH_N" 'BEGIN { for (i = 0; i < n; i++) print "{\"app\":\"paused\",\"command\":[\"true\"]}" }' >"$WORK/batch.jsonl"
  t0=$(now)
  timeout 600 env JOBQ_SOCKET="$WORK/D.sock" "$JOBQ" enqueue --batch "$WORK/batch.jsonl" >"$WORK/batch.ids" || return 1
  t1=$(now)
  [[ $(wc -l <"$WORK/batch.ids") -eq $BATCH_N ]] && BATCH_RATE=$(calc %.0f "$BATCH_N / ($t1 - $t0)")
  log "filling D to $DEPTH_N pending jobs"
  for ((i = BATCH_N; i < DEPTH_N; i += BATCH_N)); do
    timeout 600 env JOBQ_SOCKET="$WORK/D.sock" "$JOBQ" enqueue --batch "$WORK/batch.jsonl" >/dev/null || return 1
  done
  [[ $(jobq_at D status --json | jq -r '.status.apps[] | select(.name == "paused") | .pending') -ge $DEPTH_N ]] &&
    DEPTH_OK=1
  # 4c, 4d, 5a: rounds of E (empty store), tsp, D (deep store), order rotating.
  local -a order=(E T D)
  for ((r = 0; r < LOAD_ROUNDS; r++)); do
    for ((i = 0; i < 3; i++)); do
      side=${order[(r + i) % 3]}
      sleep "$SETTLE_S"
      case $side in
        T) ((HAVE_TSP)) || continue
           tsp_round "$r" && v=$TSP_RATE && isnum "$v" && LOAD_T+=("$v") ;;
        E) v=$(load_jobqd E) && read -r v c b t1 t2 <<<"$v" && isnum "$v" && LOAD_E+=("$v") &&
             LOAD_E_CPU+=("$c") LOAD_E_BUSY+=("$b") LOAD_E_T1+=("$t1") LOAD_E_T2+=("$t2") ;;
        D) v=$(load_jobqd D) && read -r v c b t1 t2 <<<"$v" && isnum "$v" && LOAD_D+=("$v") ;;
      esac
      log "enqueue round $((r + 1)) $side: ${v:-failed} jobs/s"
      v=
    done
  done
  # 5b, 5c: list and show on the deep store, alternating.
  for ((i = 0; i < QUERY_N; i++)); do
    t0=$(now)
    jobq_at D list --limit 50 >/dev/null || return 1
    t1=$(now)
    LIST_MS+=("$(calc %.3f "($t1 - $t0) * 1000")")
    id=$(((RANDOM * 32768 + RANDOM) % DEPTH_N + 1))
    t0=$(now)
    jobq_at D show "$id" >/dev/null || return 1
    t1=$(now)
    SHOW_MS+=("$(calc %.3f "($t1 - $t0) * 1000")")
  done
  D_RSS=$(rss_kb "$PID_D")
  D_HWM=$(hwm_kb "$PID_D")
  D_FILES=$(du -cb "$WORK/D/state"/jobq.db* 2>/dev/null | awk 'END { print $1 }')
  D_WAL=$(stat -c %s "$WORK/D/state/jobq.db-wal" 2>/dev/null || echo 0)
  # How far a checkpoint from another connection gets: "busy|WAL frames|copied".
  D_CKPT=
  ((HAVE_SQLITE)) && D_CKPT=$(timeout 60 sqlite3 "$WORK/D/state/jobq.db" "PRAGMA wal_checkpoint(PASSIVE);" 2>/dev/null)
  # 5e: the plans of the claim's queries (lib/store/attempts.cpp).
  if ((HAVE_SQLITE)); then
    local q plan name steps
    PLANS=()
    while IFS='|' read -r name q; do
      plan=$(timeout 30 sqlite3 -readonly "$WORK/D/state/jobq.db" "EXPLAIN QUERY PLAN $q" 2>&1) || plan="error: $plan"
      # "SEARCH jobs USING INDEX x (...)": index; "SCAN jobs [USING ...]": SCAN.
      steps=$(grep -Eo '(SEARCH|SCAN) (TABLE )?jobs( USING (COVERING )?INDEX [a-z_]+)?' <<<"$plan" |
        awk '{ print $1 ($NF != "jobs" ? " " $NF : "") }' | paste -sd, -)
      if [[ $plan == error:* || -z $steps ]]; then PLANS+=("$name: error: ${plan//$'\n'/ }")
      elif [[ $steps == *SCAN* ]]; then PLANS+=("$name: SCAN ($steps)")
      else PLANS+=("$name: index ($steps)")
      fi
    done <<'EOF'
busy|SELECT app, COUNT(*) FROM jobs WHERE state IN ('starting','running') GROUP BY app
due|UPDATE jobs INDEXED BY jobs_delayed SET due=1 WHERE state='pending' AND due=0 AND not_before_ns<=1
claim|SELECT id FROM jobs INDEXED BY jobs_claim WHERE app='paused' AND state='pending' AND due=1 AND held=0 AND waiting_on=0 ORDER BY priority DESC, id LIMIT 4
next_due|SELECT MIN(not_before_ns) FROM jobs INDEXED BY jobs_delayed WHERE state='pending' AND due=0 AND not_before_ns>1
EOF
  fi
  stop_jobqd E
  stop_jobqd D
}

log "rows 4-5: enqueue and depth, jobqd against engine_sim"
rows_enqueue || log "rows 4-5: a step failed"

w4a="Enqueue (a): one \`jobq enqueue APP -q -- true\` process, start to exit (paused app, simulator engine), median of $ONE_N"
if ((${#ONE_MS[@]} == ONE_N)); then
  m=$(printf '%s\n' "${ONE_MS[@]}" | median)
  row 4a "$w4a" "≤ 5 ms" "**$(calc %.2f "$m") ms**" "$(cmp_met "$m" "<=" 5)"
else
  error_row 4a "$w4a" "≤ 5 ms" "an enqueue failed"
fi
w4b="Enqueue (b): \`jobq enqueue --batch\` of $(thousands "$BATCH_N") jobs into an empty store, start to exit"
if isnum "${BATCH_RATE:-}"; then
  row 4b "$w4b" "≥ 20,000 jobs/s" "**$(thousands "$BATCH_RATE") jobs/s**" "$(cmp_met "$BATCH_RATE" ">=" 20000)"
else
  error_row 4b "$w4b" "≥ 20,000 jobs/s" "the batch failed"
fi
w4c="Enqueue (c): 8 clients (enqueue_load), single enqueues of $(thousands "$LOAD_N") jobs, each acknowledged after commit (synchronous=FULL), paused app, empty store; median of $LOAD_ROUNDS round(s)"
if ((${#LOAD_E[@]} == LOAD_ROUNDS)); then
  me=$(printf '%s\n' "${LOAD_E[@]}" | median)
  row 4c "$w4c" "≥ 5,000 jobs/s" "**$(thousands "$me") jobs/s** (rounds: ${LOAD_E[*]}); meanwhile, medians: jobqd $(printf '%s\n' "${LOAD_E_CPU[@]}" | median) % of one core (its two busiest threads $(printf '%s\n' "${LOAD_E_T1[@]}" | median) % and $(printf '%s\n' "${LOAD_E_T2[@]}" | median) %), both CPUs $(printf '%s\n' "${LOAD_E_BUSY[@]}" | median) % busy" "$(cmp_met "$me" ">=" 5000)"
else
  error_row 4c "$w4c" "≥ 5,000 jobs/s" "a round failed"
fi
w4d="Enqueue (d): the same $(thousands "$LOAD_N") jobs added with task-spooler (\`tsp -n -L x true\`, 8 loops in parallel, one server per round; tsp runs them as they come, keeps its queue in memory), rounds alternating with (c); ratio jobq (c) / tsp"
if ((!HAVE_TSP)); then
  row 4d "$w4d" "— (comparison)" "not measured: task-spooler (tsp) is not installed and could not be installed$( ((SMOKE)) && echo " (a smoke run installs nothing)")" "—"
elif ((${#LOAD_T[@]} == LOAD_ROUNDS)); then
  mt=$(printf '%s\n' "${LOAD_T[@]}" | median)
  row 4d "$w4d" "— (comparison)" "tsp **$(thousands "$mt") jobs/s** (rounds: ${LOAD_T[*]}); ratio jobq/tsp **$(isnum "${me:-}" && calc %.2f "$me / $mt" || echo "n/a: (c) failed")**" "—"
else
  error_row 4d "$w4d" "— (comparison)" "a round failed"
fi
w5a="Depth: the 8-client rate of (c) with $(thousands "$DEPTH_N") pending jobs in the store (paused app, simulator engine), rounds alternating with (c)"
if ((DEPTH_OK && ${#LOAD_D[@]} == LOAD_ROUNDS)) && isnum "${me:-}"; then
  md=$(printf '%s\n' "${LOAD_D[@]}" | median)
  r5=$(calc %.2f "$md / $me")
  row 5a "$w5a" "within 20% of (c): ratio ≥ 0.80" "$(thousands "$md") jobs/s (rounds: ${LOAD_D[*]}); ratio deep/empty **$r5**" "$(cmp_met "$r5" ">=" 0.8)"
else
  error_row 5a "$w5a" "within 20% of (c): ratio ≥ 0.80" "the store was not filled or a round failed"
fi
w5b="Depth: \`jobq list --limit 50\`, start to exit, median of $QUERY_N"
w5c="Depth: \`jobq show ID\` (random ids), start to exit, median of $QUERY_N"
if ((DEPTH_OK && ${#LIST_MS[@]} == QUERY_N && ${#SHOW_MS[@]} == QUERY_N)); then
  ml=$(printf '%s\n' "${LIST_MS[@]}" | median)
  ms=$(printf '%s\n' "${SHOW_MS[@]}" | median)
  row 5b "$w5b" "< 20 ms" "**$(calc %.1f "$ml") ms**" "$(cmp_met "$ml" "<" 20)"
  row 5c "$w5c" "< 20 ms" "**$(calc %.1f "$ms") ms**" "$(cmp_met "$ms" "<" 20)"
else
  error_row 5b "$w5b" "< 20 ms" "the store was not filled or a query failed"
  error_row 5c "$w5c" "< 20 ms" "the store was not filled or a query failed"
fi
w5d="Depth: jobqd VmRSS after the above (peak VmHWM in brackets)"
if ((DEPTH_OK)) && isnum "${D_RSS:-}"; then
  row 5d "$w5d" "< 64 MiB" "**$(calc %.1f "$D_RSS / 1024") MiB** (peak $(calc %.1f "$D_HWM / 1024") MiB)" \
    "$(cmp_met "$D_RSS" "<" $((64 * 1024)))"
  ckpt=
  if [[ ${D_CKPT:-} =~ ^[0-9]+\|([0-9]+)\|([0-9]+)$ ]]; then
    ckpt="; a checkpoint from another connection (\`PRAGMA wal_checkpoint(PASSIVE)\`) then copied $(thousands "${BASH_REMATCH[2]}") of $(thousands "${BASH_REMATCH[1]}") WAL frames"
  fi
  row 5e "Depth: the store's files (jobq.db + -wal + -shm) at that point" "— (reported)" \
    "$(calc %.0f "$D_FILES / 1048576") MiB, of which the WAL $(calc %.0f "$D_WAL / 1048576") MiB$ckpt" "—"
else
  error_row 5d "$w5d" "< 64 MiB" "the store was not filled"
fi
w5f="Depth: query plans of the claim (claim_pending: busy count, due update, pending select; next_due_ns), \`EXPLAIN QUERY PLAN\` on the deep store"
if ((!HAVE_SQLITE)); then
  row 5f "$w5f" "index (no SCAN)" "not measured: the sqlite3 shell is not installed$( ((SMOKE)) && echo " (a smoke run installs nothing)")" "—"
elif ((${#PLANS[@]} == 4)) && ! printf '%s\n' "${PLANS[@]}" | grep -q 'error:'; then
  if printf '%s\n' "${PLANS[@]}" | grep -q ': SCAN'; then met=no; else met=yes; fi
  row 5f "$w5f" "index (no SCAN)" "$(printf '%s; ' "${PLANS[@]}" | sed 's/; $//')" "$met" text
else
  error_row 5f "$w5f" "index (no SCAN)" "${PLANS[*]:-no plans}"
fi
