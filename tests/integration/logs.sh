#!/usr/bin/env bash
# stdout and stderr are kept apart; output past --log-cap keeps its tail and
# says it was cut.
source "$(dirname "$0")/lib.sh"
start_daemon --log-cap 1K
"$JOBQ" app create t --image "$TEST_IMAGE" >/dev/null

id=$(enq t -- sh -c 'echo out1; echo err1 >&2; echo out2; echo err2 >&2')
"$JOBQ" wait "$id"
assert_eq $'out1\nout2' "$("$JOBQ" logs "$id")" "stdout"
assert_eq $'err1\nerr2' "$("$JOBQ" logs "$id" --stderr)" "stderr"

# 3000 numbered lines, about 14 KB: only the last 1 KiB is kept.
big=$(enq t -- sh -c 'i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done')
"$JOBQ" wait "$big"
"$JOBQ" logs "$big" >"$WORK/out" 2>"$WORK/err"
assert_eq 1024 "$(wc -c <"$WORK/out")" "bytes kept"
assert_eq "line 2999" "$(tail -n 1 "$WORK/out")" "last line kept"
grep -q "output was cut" "$WORK/err" || fail "no note that the output was cut"

# Logs of a running job come from the engine.
run=$(enq t -- sh -c 'echo early; sleep 30')
for _ in $(seq 1 50); do
  [[ $(job_field "$run" .state) == running ]] && break
  sleep 0.1
done
for _ in $(seq 1 20); do
  [[ $("$JOBQ" logs "$run") == early ]] && break
  sleep 0.2
done
assert_eq early "$("$JOBQ" logs "$run")" "live stdout of a running job"
"$JOBQ" cancel "$run" >/dev/null
echo "PASS"
