#!/usr/bin/env bash
# Many jobs at once: `jobq enqueue --batch` takes one JSON job per line and
# is all-or-nothing (a bad line anywhere: nothing enqueued); concurrent
# single enqueues share commits (group commit) and each gets its own job.
source "$(dirname "$0")/lib.sh"
start_daemon
"$JOBQ" app create b --image "$TEST_IMAGE" >/dev/null
"$JOBQ" app create other --image "$TEST_IMAGE" >/dev/null
count() { "$JOBQ" list --limit 0 --json | jq '.jobs | length'; }

printf '%s\n' '{"command":["sh","-c","echo one"]}' '' '{"app":"other","command":["true"],"priority":5}' \
  '{"command":["sh","-c","exit 2"],"labels":{"jobq-test-run":"'"$RUN_ID"'"}}' >"$WORK/jobs"
ids=$("$JOBQ" enqueue b --batch "$WORK/jobs")
assert_eq 3 "$(wc -l <<<"$ids")" "ids printed"
first=$(sed -n 1p <<<"$ids")
second=$(sed -n 2p <<<"$ids")
assert_eq other "$(job_field "$second" .app)" "a line's own app"
assert_eq 5 "$(job_field "$second" .priority)" "a line's priority"
rc=0; "$JOBQ" wait --timeout 60s $ids >/dev/null || rc=$?
assert_eq 2 "$rc" "the batch's jobs ran"
assert_eq one "$("$JOBQ" logs "$first")" "output of a batched job"

before=$(count)
printf '%s\n' '{"command":["true"]}' '{"app":"nosuch","command":["true"]}' >"$WORK/bad"
rc=0; out=$("$JOBQ" enqueue b --batch "$WORK/bad" 2>&1) || rc=$?
assert_eq 66 "$rc" "a batch naming a missing application"
assert_eq "$before" "$(count)" "jobs after a refused batch"
printf '%s\n' '{"command":["true"]}' '{"command":["true"], "env": {"1X": "y"}}' >"$WORK/bad"
rc=0; out=$("$JOBQ" enqueue b --batch - <"$WORK/bad" 2>&1) || rc=$?
assert_eq 1 "$rc" "a batch with an invalid job"
[[ $out == *"job 2 of the batch"* ]] || fail "message: $out"
assert_eq "$before" "$(count)" "jobs after a batch with an invalid job"
printf '%s\n' '{"command":["true"]}' 'not json' >"$WORK/bad"
rc=0; out=$("$JOBQ" enqueue b --batch "$WORK/bad" 2>&1) || rc=$?
assert_eq 64 "$rc" "a batch with a line that is not JSON"
[[ $out == *":2:"* ]] || fail "message names no line: $out"
assert_eq "$before" "$(count)" "jobs after a malformed batch"

# Larger than one request: 25000 lines go as three runs.
awk 'BEGIN { for (i = 0; i < 25000; i++) print "{\"command\":[\"true\"]}" }' >"$WORK/many"
"$JOBQ" app create many --image "$TEST_IMAGE" >/dev/null
"$JOBQ" app pause many >/dev/null
n=$("$JOBQ" enqueue many --batch "$WORK/many" | sort -u | wc -l)
assert_eq 25000 "$n" "distinct ids for 25000 batched jobs"

# Concurrent single enqueues: each acknowledged with a job of its own.
clients=()
for c in $(seq 1 8); do
  (for i in $(seq 1 20); do "$JOBQ" enqueue many -q -- true; done >"$WORK/ids.$c") &
  clients+=($!)
done
wait "${clients[@]}"  # not jobqd, also a child of this shell
assert_eq 160 "$(cat "$WORK"/ids.* | sort -u | wc -l)" "distinct ids from 8 concurrent clients"
assert_eq 25160 "$("$JOBQ" status --json | jq '.status.apps[] | select(.name=="many") | .pending')" "pending in the paused application"
"$JOBQ" app delete many --force >/dev/null
echo "PASS"
