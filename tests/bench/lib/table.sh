# Sourced by run.sh: the table. Each row file adds its lines with row or
# error_row (ROWS, ERRORS); machine_header notes the machine at the start
# (HEADER), end_table at the end; table prints it all, rows in order of id.
# Uses log, WORK, ROOT, MODE, JOBQ. Defines functions only.

# row ID MEASURE TARGET MEASURED MET [text]: one line of the table. MEASURED
# must hold a number (with "text": must not be empty); without one the cell
# reads ERROR and the run fails, unless it starts with "not measured:" (a
# tool that cannot be had here).
row() {
  local id=$1 what=$2 target=$3 measured=$4 met=$5 kind=${6:-number}
  if [[ $measured != "not measured:"* && ( ($kind == number && ! $measured =~ [0-9]) || -z $measured ) ]]; then
    measured="ERROR: not measured${measured:+ ($measured)}"
    met="—"
    ERRORS=$((ERRORS + 1))
  fi
  ROWS+=("| $id | $what | $target | $measured | $met |")
  log "row $id: $measured ($met)"
}
error_row() {  # ID MEASURE TARGET WHY
  ROWS+=("| $1 | $2 | $3 | ERROR: not measured ($4) | — |")
  ERRORS=$((ERRORS + 1))
  log "row $1: ERROR: $4"
}

fsync_ms() {  # ms per 4 KiB O_DSYNC write (the disk's fsync), over 200 writes in $WORK
  dd if=/dev/zero of="$WORK/fsync.probe" bs=4k count=200 oflag=dsync 2>&1 |
    awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") printf "%.2f\n", $(i - 1) * 1000 / 200 }'
  rm -f "$WORK/fsync.probe"
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }

# machine_header: the machine, on top of the table (HEADER, FSYNC0, LOAD0).
machine_header() {
  local fs_dev fs_type fs_size cpu_model mem_gib docker_version jobq_version commit build_type
  FSYNC0=$(fsync_ms) LOAD0=$(loadavg)
  read -r fs_dev fs_type fs_size < <(df -PTh "$WORK" | awk 'NR == 2 { print $1, $2, $3 }')
  cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  mem_gib=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
  docker_version=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo "?")
  jobq_version=$("$JOBQ" --version 2>/dev/null | head -n 1 | sed 's/^jobq //')
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
  [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && commit+=" with local changes"
  build_type=$(awk -F= '/^CMAKE_BUILD_TYPE:/ { print $2 }' "$(dirname "$(dirname "$JOBQ")")/CMakeCache.txt" 2>/dev/null)
  HEADER=(
    "### jobq benchmarks ($MODE run)"
    ""
    "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    "- Machine: $(nproc) CPUs (${cpu_model:-?}), ${mem_gib} GiB memory, kernel $(uname -r), Docker ${docker_version}"
    "- Disk: $fs_dev ($fs_type, $fs_size) under $(dirname "$WORK")"
    "- jobq ${jobq_version:-?}, ${build_type:-unknown} build in $(dirname "$(dirname "$JOBQ")") (source tree at commit $commit)"
  )
}

# end_table: the machine at the end (FSYNC1, LOAD1); the rows in order 1..9,
# whatever order they were measured in (7a is measured early, with the other
# real-Docker rows).
end_table() {
  FSYNC1=$(fsync_ms) LOAD1=$(loadavg)
  mapfile -t ROWS < <(printf '%s\n' "${ROWS[@]}" | sort -t'|' -k2,2bV -s)
}
table() {
  printf '%s\n' "${HEADER[@]}"
  echo "- fsync: one 4 KiB write with O_DSYNC (\`dd if=/dev/zero of=FILE bs=4k count=200 oflag=dsync\`, FILE beside the state directories) took ${FSYNC0:-?} ms at the start, ${FSYNC1:-?} ms at the end"
  echo "- The machine is shared: load average (1 min) ${LOAD0} at the start, ${LOAD1} at the end; the run took $SECONDS s"
  echo
  echo "| # | Measure | Target | Measured | Met |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
}
