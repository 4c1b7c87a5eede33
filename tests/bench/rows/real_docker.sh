# Rows 1-3, jobqd against the real dockerd, each against Docker's own client
# on the same engine, sides alternating:
#   1   drain: DRAIN_N jobs `true` from the first enqueue to the last result,
#       against `docker run --detach` + `docker wait` (DRAIN_ROUNDS rounds);
#   2   start latency on an idle queue: enqueue to Docker's StartedAt, minus
#       `docker run --detach` to StartedAt (LAT_SAMPLES samples);
#   3a, 3b  finish detection over the jobs of rows 1-2: Docker's FinishedAt to
#       the result committed, median and p99, the lag split where jobqd was
#       told and where its inspect returned;
#   3c, 3d  the same for jobs `sleep SLEEP_JOB`, network bridge and none,
#       against `docker wait` (SLEEP_SAMPLES samples).
# One jobqd (R, at trace level: its log times each step). Leaves
# $WORK/drain.jobqd.ticks (jobqd's CPU per drain round) for row 7b.
# Sourced by run.sh (lib/ and the sizes first).

DRAIN_JOBQ=() DRAIN_DOCKER=() LAT_JOBQ=() LAT_DOCKER=()
DRAIN_CPU_JOBQ=() DRAIN_CPU_DOCKER=() DRAIN_BUSY_JOBQ=() DRAIN_BUSY_DOCKER=()
: >"$WORK/finish.ids"
: >"$WORK/latency.ids"
: >"$WORK/docker-true.ms"

# drain_SIDE ROUND: prints "jobs/s  machine-CPU-ms-per-job  machine-busy-%"
drain_jobq() {
  local r=$1 t0 t1 i s0 s1 c0 c1
  for ((i = 0; i < DRAIN_N; i++)); do
    printf '{"app":"drain","command":["true"],"labels":{"jobq-bench-run":"%s"}}\n' "$RUN_ID"
  done >"$WORK/drain.jsonl"
  c0=$(cpu_ticks "$PID_R")
  s0=$(sys_ticks)
  t0=$(now)
  timeout 120 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" enqueue --batch "$WORK/drain.jsonl" >"$WORK/drain.$r.ids" || return 1
  # shellcheck disable=SC2046  # the ids
  timeout 600 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" wait --timeout 590s $(<"$WORK/drain.$r.ids") >/dev/null || return 1
  t1=$(now)
  s1=$(sys_ticks)
  c1=$(cpu_ticks "$PID_R")
  [[ $(wc -l <"$WORK/drain.$r.ids") -eq $DRAIN_N ]] || return 1
  echo "$((c1 - c0))" >>"$WORK/drain.jobqd.ticks"
  cat "$WORK/drain.$r.ids" >>"$WORK/finish.ids"
  drain_result "$t0" "$t1" "$s0" "$s1"
}
drain_result() {  # t0 t1 sys0 sys1
  echo "$(calc "%.2f" "$DRAIN_N / ($2 - $1)") $(calc %.0f "(${4%% *} - ${3%% *}) * 1000 / $CLK_TCK / $DRAIN_N") $(sys_busy "$3" "$4")"
}
drain_docker() {
  local r=$1 t0 t1 codes rc=0 s0 s1
  s0=$(sys_ticks)
  t0=$(now)
  # shellcheck disable=SC2016  # expanded by the inner sh
  seq "$DRAIN_N" | timeout 300 xargs -P 8 -I{} docker run --detach --label "$LABEL" "$IMAGE" true \
    >"$WORK/docker.$r.ids" 2>>"$WORK/docker.log" || rc=1
  # shellcheck disable=SC2046  # the ids
  codes=$(timeout 300 docker wait $(<"$WORK/docker.$r.ids") 2>>"$WORK/docker.log") || rc=1
  t1=$(now)
  s1=$(sys_ticks)
  # shellcheck disable=SC2046
  docker rm $(<"$WORK/docker.$r.ids") >/dev/null 2>&1
  ((rc == 0)) && [[ $(wc -l <"$WORK/docker.$r.ids") -eq $DRAIN_N ]] || return 1
  [[ $(grep -cx 0 <<<"$codes") -eq $DRAIN_N ]] || return 1
  drain_result "$t0" "$t1" "$s0" "$s1"
}
latency_jobq() {  # prints ms from just before `jobq enqueue` to Docker's StartedAt
  local t0 id started
  t0=$(now)
  id=$(timeout 30 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" enqueue latency -q --label "$LABEL" -- true) || return 1
  timeout 60 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" wait --timeout 55s "$id" >/dev/null || return 1
  echo "$id" >>"$WORK/finish.ids"
  echo "$id" >>"$WORK/latency.ids"
  started=$(jobq_at R show "$id" --json | jq -r .job.started_at) || return 1
  awk -v t0="$t0" -v s="$started" "$AWK_TIME"'BEGIN { x = t2s(s); if (x == "bad") exit 1; printf "%.3f", (x - t0) * 1000 }'
}
latency_docker() {  # prints ms from just before `docker run --detach` to Docker's StartedAt
  # Docker's own finish detection goes to docker-true.ms (see docker_finish).
  local t0 cid
  t0=$(now)
  cid=$(timeout 30 docker run --detach --label "$LABEL" "$IMAGE" true 2>>"$WORK/docker.log") || return 1
  docker_finish "$cid" >>"$WORK/docker-true.ms" || return 1
  awk -v t0="$t0" -v s="$DOCKER_STARTED" "$AWK_TIME"'BEGIN { x = t2s(s); if (x == "bad") exit 1; printf "%.3f", (x - t0) * 1000 }'
}
# docker_finish CID: runs `docker wait` on a container just started and prints
# ms from its FinishedAt to `docker wait` returning: how soon Docker's own
# client learns of the exit. Sets DOCKER_STARTED; removes the container.
docker_finish() {
  local cid=$1 t1 times
  timeout 30 docker wait "$cid" >/dev/null 2>>"$WORK/docker.log" || return 1
  t1=$(now)
  times=$(docker inspect -f '{{.State.StartedAt}} {{.State.FinishedAt}}' "$cid" 2>>"$WORK/docker.log")
  docker rm -f "$cid" >/dev/null 2>&1
  DOCKER_STARTED=${times% *}
  awk -v t1="$t1" -v f="${times#* }" "$AWK_TIME"'BEGIN { x = t2s(f); if (x == "bad") exit 1; printf "%.3f\n", (t1 - x) * 1000 }'
}
# Finish detection of jobs that outlive dockerd's answer to the start call
# (`sleep SLEEP_JOB`: 0.3 s, in a smoke run 0.1 s), one at a time, on Docker's default (bridge) network or on
# none: sleeper_SIDE NET prints ms from FinishedAt to the result (jobq:
# committed, its updated_at; docker: `docker wait` returned).
sleeper_jobq() {
  local id times
  id=$(timeout 30 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" enqueue "sleep-$1" -q --label "$LABEL" -- sleep "$SLEEP_JOB") || return 1
  times=$(timeout 60 env JOBQ_SOCKET="$WORK/R.sock" "$JOBQ" wait --json --timeout 55s "$id" |
    jq -r '.jobs[0] | "\(.finished_at) \(.updated_at)"') || return 1
  echo "$id $times" >>"$WORK/sleep-$1.times"
  awk -v f="${times% *}" -v u="${times#* }" "$AWK_TIME"'BEGIN { x = t2s(f); y = t2s(u); if (x == "bad" || y == "bad") exit 1; printf "%.3f", (y - x) * 1000 }'
}
sleeper_docker() {
  local cid net=()
  [[ $1 == none ]] && net=(--network none)
  cid=$(timeout 30 docker run --detach "${net[@]}" --label "$LABEL" "$IMAGE" sleep "$SLEEP_JOB" 2>>"$WORK/docker.log") || return 1
  docker_finish "$cid"
}

# lag_split FILE: FILE holds "id FinishedAt updated_at" lines of jobs of R;
# prints "id lag told inspect own" (ms) for each: the lag, split where jobqd
# was told to look at the job (the engine's die event, or dockerd's answer to
# the start call: the last "asked to look at it" line before the inspect that
# found the container exited) and where that inspect returned ("exited").
lag_split() {
  awk "$AWK_TIME"'
    function stamp(line,   t) { t = substr(line, 2, 23); sub(/ /, "T", t); return t2s(t "Z") }
    FNR == NR {
      id = $6; sub(/:$/, "", id)
      if ($0 ~ /\[trace\] job [0-9]+: asked to look at it/) asked[id] = stamp($0)
      else if ($0 ~ /\[trace\] job [0-9]+: exited; collecting/ && !(id in found)) { found[id] = stamp($0); told[id] = asked[id] }
      next
    }
    ($1 in found) {
      f = t2s($2); u = t2s($3); e = told[$1] > f ? told[$1] : f; x = found[$1] > e ? found[$1] : e
      printf "%s %.3f %.3f %.3f %.3f\n", $1, (u - f) * 1000, (e - f) * 1000, (x - e) * 1000, (u - x) * 1000
    }' "$WORK/R.log" "$1"
}
# split_text FILE: the medians of lag_split's output, in words.
split_text() {
  local col
  col() { awk -v c="$1" '{ print $c }' "$2" | median | xargs printf %.1f; }
  echo "FinishedAt to jobqd told to look (engine's die event, or the start call's answer) $(col 3 "$1") ms, then the inspect that finds it exited (dockerd answers once it has cleaned up after the container) $(col 4 "$1") ms, then jobqd's own part (output, commit) $(col 5 "$1") ms"
}

rows_docker() {
  local r v i rate cpu busy
  # Trace level and UTC: the log's lines tell when dockerd answered each start
  # call ("started as"), when the engine's event named a job ("asked to look
  # at it") and when the inspect that found it exited returned ("exited").
  TZ=UTC LOG_LEVEL=trace start_jobqd R --launch-workers 8 --max-running 0 || return 1
  jobq_at R app create drain --image "$IMAGE" --max-running 0 >/dev/null || return 1
  jobq_at R app create latency --image "$IMAGE" --max-running 0 >/dev/null || return 1
  jobq_at R app create sleep-bridge --image "$IMAGE" --max-running 0 >/dev/null || return 1
  jobq_at R app create sleep-none --image "$IMAGE" --max-running 0 --network none >/dev/null || return 1
  for ((r = 1; r <= DRAIN_ROUNDS; r++)); do
    for side in $( ((r % 2)) && echo "jobq docker" || echo "docker jobq"); do
      sleep "$PAUSE_S"  # the engine settles (removals of the previous side)
      if v=$(drain_"$side" "$r") && read -r rate cpu busy <<<"$v" && isnum "$rate"; then
        if [[ $side == jobq ]]; then
          DRAIN_JOBQ+=("$rate") DRAIN_CPU_JOBQ+=("$cpu") DRAIN_BUSY_JOBQ+=("$busy")
        else
          DRAIN_DOCKER+=("$rate") DRAIN_CPU_DOCKER+=("$cpu") DRAIN_BUSY_DOCKER+=("$busy")
        fi
        log "drain round $r $side: $rate jobs/s, machine CPU $cpu ms per job, $busy % busy"
      else
        log "drain round $r $side failed"
      fi
    done
  done
  sleep "$PAUSE_S"
  for ((i = 1; i <= LAT_SAMPLES; i++)); do
    for side in $( ((i % 2)) && echo "jobq docker" || echo "docker jobq"); do
      sleep "$GAP_S"  # an idle queue and engine
      if v=$(latency_"$side") && isnum "$v"; then
        [[ $side == jobq ]] && LAT_JOBQ+=("$v") || LAT_DOCKER+=("$v")
      else
        log "latency sample $i $side failed"
      fi
    done
  done
  for ((i = 1; i <= SLEEP_SAMPLES; i++)); do
    for net in bridge none; do
      for side in $( ((i % 2)) && echo "jobq docker" || echo "docker jobq"); do
        sleep "$GAP_S"
        if v=$(sleeper_"$side" "$net") && isnum "$v"; then
          echo "$v" >>"$WORK/sleep-$net.$side.ms"
        else
          log "finish sample $i $side $net failed"
        fi
      done
    done
  done
  # Finish detection over every jobq job of rows 1 and 2.
  # shellcheck disable=SC2046
  jobq_at R wait --json $(<"$WORK/finish.ids") | jq -r '.jobs[] | "\(.id) \(.finished_at) \(.updated_at)"' \
    >"$WORK/finish.times"
  awk "$AWK_TIME"'{ f = t2s($2); u = t2s($3); if (f == "bad" || u == "bad") next; printf "%.3f\n", (u - f) * 1000 }' \
    "$WORK/finish.times" >"$WORK/finish.ms"
  lag_split "$WORK/finish.times" >"$WORK/finish.split"
  stop_jobqd R
}

log "rows 1-3: jobqd against the real dockerd"
rows_docker || log "rows 1-3: set-up failed"

drain_what="Drain: $DRAIN_N jobs \`true\` from the first enqueue (one \`jobq enqueue --batch\`) to the last result (\`jobq wait\` on all), jobqd --launch-workers 8, no limit; vs \`docker run --detach\` ×$DRAIN_N (xargs -P8) + \`docker wait\`; $DRAIN_ROUNDS alternating round(s), medians"
if ((${#DRAIN_JOBQ[@]} == DRAIN_ROUNDS && ${#DRAIN_DOCKER[@]} == DRAIN_ROUNDS)); then
  mj=$(printf '%s\n' "${DRAIN_JOBQ[@]}" | median)
  md=$(printf '%s\n' "${DRAIN_DOCKER[@]}" | median)
  ratio=$(calc "%.2f" "$mj / $md")
  row 1 "$drain_what" "jobq/docker ≥ 1.0" \
    "jobq $mj jobs/s, docker $md jobs/s: ratio **$ratio** (rounds: jobq ${DRAIN_JOBQ[*]}; docker ${DRAIN_DOCKER[*]}). Machine CPU per job, median: jobq $(printf '%s\n' "${DRAIN_CPU_JOBQ[@]}" | median) ms, docker $(printf '%s\n' "${DRAIN_CPU_DOCKER[@]}" | median) ms; both CPUs busy: jobq $(printf '%s\n' "${DRAIN_BUSY_JOBQ[@]}" | median) %, docker $(printf '%s\n' "${DRAIN_BUSY_DOCKER[@]}" | median) %" \
    "$(cmp_met "$ratio" ">=" 1.0)"
else
  error_row 1 "$drain_what" "jobq/docker ≥ 1.0" "a round failed"
fi

lat_what="Start latency, idle queue: enqueue (\`\$EPOCHREALTIME\` just before \`jobq enqueue\`) to Docker's StartedAt, minus \`docker run --detach\` to StartedAt; $LAT_SAMPLES alternating samples each, same host clock; median overhead"
if ((${#LAT_JOBQ[@]} == LAT_SAMPLES && ${#LAT_DOCKER[@]} == LAT_SAMPLES)); then
  mj=$(printf '%s\n' "${LAT_JOBQ[@]}" | median)
  md=$(printf '%s\n' "${LAT_DOCKER[@]}" | median)
  over=$(calc "%.1f" "$mj - $md")
  row 2 "$lat_what" "≤ 20 ms" \
    "**$over ms** (jobq $(calc %.1f "$mj") ms, docker run $(calc %.1f "$md") ms; ratio $(calc %.2f "$mj / $md"))" \
    "$(cmp_met "$over" "<=" 20)"
else
  error_row 2 "$lat_what" "≤ 20 ms" "a sample failed"
fi

fin_what="Finish detection: Docker's FinishedAt to the result committed (updated_at), over the jobq jobs of rows 1-2; jobqd --poll-interval 1s (default)"
nfin=$(wc -l <"$WORK/finish.ms" 2>/dev/null || echo 0)
if ((nfin > 0 && nfin == $(wc -l <"$WORK/finish.ids"))); then
  fmed=$(median <"$WORK/finish.ms")
  f99=$(p99 <"$WORK/finish.ms")
  split=
  if [[ $(wc -l <"$WORK/finish.split") -eq $nfin ]]; then
    # column: 2 the lag, 3 before dockerd answered the start call, 4 after
    split="; of which, medians: $(split_text "$WORK/finish.split")"
    # The jobs of row 2 alone: one at a time, on an idle engine.
    awk 'FNR == NR { want[$1] = 1; next } ($1 in want)' "$WORK/latency.ids" "$WORK/finish.split" >"$WORK/finish.idle"
    [[ -s $WORK/finish.idle ]] &&
      split+="; the $LAT_SAMPLES jobs of row 2 alone (one at a time): median $(awk '{ print $2 }' "$WORK/finish.idle" | median | xargs printf %.1f) ms"
  fi
  if [[ -s $WORK/docker-true.ms ]]; then
    split+=". Docker's own client, for the \`true\` containers of row 2 (\`docker wait\` right after \`docker run --detach\`): FinishedAt to \`docker wait\` returning, median $(median <"$WORK/docker-true.ms" | xargs printf %.1f) ms"
  fi
  row 3a "$fin_what: median" "≤ 50 ms" "**$(calc %.1f "$fmed") ms** ($nfin jobs$split)" "$(cmp_met "$fmed" "<=" 50)"
  row 3b "$fin_what: p99" "≤ 1000 ms (the poll interval)" "**$(calc %.1f "$f99") ms** (max $(sort -g "$WORK/finish.ms" | tail -n 1 | xargs printf %.1f) ms)" "$(cmp_met "$f99" "<=" 1000)"
else
  error_row 3a "$fin_what: median" "≤ 50 ms" "no finished jobs"
  error_row 3b "$fin_what: p99" "≤ 1000 ms (the poll interval)" "no finished jobs"
fi

# finish_row ID NET: finish detection of the `sleep $SLEEP_JOB` jobs on network NET.
finish_row() {
  local id=$1 net=$2 what mj md detail=
  what="Finish detection of jobs that outlive dockerd's answer to the start call (\`sleep $SLEEP_JOB\`), network $net$([[ $net == bridge ]] && echo " (Docker's default)"), one at a time, $SLEEP_SAMPLES alternating samples each: FinishedAt to the result committed (jobq), against FinishedAt to \`docker wait\` returning (\`docker run --detach$([[ $net == none ]] && echo " --network none")\`, then \`docker wait\`); median"
  if [[ $(wc -l <"$WORK/sleep-$net.jobq.ms" 2>/dev/null) -ne $SLEEP_SAMPLES ||
    $(wc -l <"$WORK/sleep-$net.docker.ms" 2>/dev/null) -ne $SLEEP_SAMPLES ]]; then
    error_row "$id" "$what" "≤ 50 ms" "a sample failed"
    return
  fi
  mj=$(median <"$WORK/sleep-$net.jobq.ms")
  md=$(median <"$WORK/sleep-$net.docker.ms")
  lag_split "$WORK/sleep-$net.times" >"$WORK/sleep-$net.split"
  [[ $(wc -l <"$WORK/sleep-$net.split") -eq $SLEEP_SAMPLES ]] &&
    detail="; of jobq's, medians: $(split_text "$WORK/sleep-$net.split")"
  row "$id" "$what" "≤ 50 ms" \
    "**$(calc %.1f "$mj") ms** (max $(sort -g "$WORK/sleep-$net.jobq.ms" | tail -n 1 | xargs printf %.1f) ms); docker wait $(calc %.1f "$md") ms, ratio jobq/docker $(calc %.2f "$mj / $md")$detail" \
    "$(cmp_met "$mj" "<=" 50)"
}
finish_row 3c bridge
finish_row 3d none
