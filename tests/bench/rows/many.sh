# Rows 6a, 6b: jobqd watching MANY_N running containers (simulator), through
# tests/bench/many_running.sh (its own simulator and jobqd): jobqd's CPU over
# MANY_S seconds in which nothing happens, and its VmRSS. Sourced by run.sh
# (lib/ and the sizes first).

w6="Many running: $(thousands "$MANY_N") containers running (simulator, tests/bench/many_running.sh), jobqd CPU over ${MANY_S} s between events"
log "row 6: many_running.sh $MANY_N $MANY_S"
if out=$(SETTLE_S=$MANY_SETTLE JOBQD_ARGS="--config /dev/null" timeout $((SMOKE ? 90 : 600)) \
  bash "$ROOT/tests/bench/many_running.sh" "$MANY_N" "$MANY_S" 2>"$WORK/many_running.log") &&
  cpu=$(jq -r .cpu_percent_of_one_core <<<"$out") && isnum "$cpu" &&
  [[ $(jq -r .running <<<"$out") -eq $MANY_N ]]; then
  row 6a "$w6" "< 2 % of one core" "**$cpu %**" "$(cmp_met "$cpu" "<" 2)"
  row 6b "Many running: jobqd VmRSS with $(thousands "$MANY_N") running" "— (reported)" \
    "$(calc %.1f "$(jq -r .rss_kb <<<"$out") / 1024") MiB" "—"
else
  error_row 6a "$w6" "< 2 % of one core" "many_running.sh failed"
  error_row 6b "Many running: jobqd VmRSS with $(thousands "$MANY_N") running" "— (reported)" "many_running.sh failed"
fi
