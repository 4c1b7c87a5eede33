# Sourced by run.sh: numbers, medians and comparisons with a target (awk, so
# fractions are fine), and AWK_TIME, an awk library for Docker's and jobq's
# times. Defines functions and that one variable.

isnum() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }  # printf-format expression
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
p99() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; i = int(NR * 0.99); if (i < NR * 0.99) i++; print v[i] }'; }
cmp_met() {  # value op target: yes/no
  awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
    r = (op == ">=") ? v >= t : (op == "<=") ? v <= t : (op == "<") ? v < t : v > t
    print r ? "yes" : "no" }'
}
thousands() { awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }; print s o }'; }
# RFC 3339 UTC (Docker's and jobq's times) to seconds since the epoch, with
# the fraction; an awk program, so hundreds of times cost no forks.
AWK_TIME='
function civil_days(y, m, d,   era, yoe, doy, doe) {
  y -= (m <= 2); era = int(y / 400); yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
  return era * 146097 + doe - 719468
}
function t2s(t,   a, frac) {
  if (t !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?Z$/) return "bad"
  frac = 0
  if (match(t, /\.[0-9]+/)) frac = substr(t, RSTART, RLENGTH) + 0
  split(t, a, /[-T:.Z]/)
  return civil_days(a[1] + 0, a[2] + 0, a[3] + 0) * 86400 + a[4] * 3600 + a[5] * 60 + a[6] + frac
}'

