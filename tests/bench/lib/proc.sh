# Sourced by run.sh and many_running.sh: the clock and what /proc says of a
# process or of the machine. Defines functions only.

now() { echo "$EPOCHREALTIME"; }  # seconds, microseconds; no fork
cpu_ticks() {  # pid: utime+stime in clock ticks (fields 14 and 15; the name may hold spaces)
  local stat rest
  stat=$(<"/proc/$1/stat") || return 1
  rest=${stat##*) }
  awk '{ print $12 + $13 }' <<<"$rest"
}
sys_ticks() {  # the machine's busy and total CPU ticks so far (/proc/stat)
  awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6; exit }' /proc/stat
}
sys_busy() {  # "busy0 total0" "busy1 total1": percent of all CPUs busy in between
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}
cpu_pct_over() {  # pid seconds: its CPU over that long, in percent of one core (calc, CLK_TCK)
  local c0 c1 t0 t1
  c0=$(cpu_ticks "$1") && t0=$(now) || return 1
  sleep "$2"
  c1=$(cpu_ticks "$1") && t1=$(now) || return 1
  calc %.2f "100 * ($c1 - $c0) / $CLK_TCK / ($t1 - $t0)"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
thread_ticks() {  # pid: "tid ticks" per thread
  local t stat
  for t in /proc/"$1"/task/*; do
    stat=$(<"$t/stat") 2>/dev/null || continue
    echo "${t##*/} $(awk '{ print $12 + $13 }' <<<"${stat##*) }")"
  done
}
