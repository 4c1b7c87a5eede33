#!/usr/bin/env bash
# Which job starts when: --delay and --at keep a job pending until its time,
# hold/release and app pause/resume stop and restart launching, --key makes a
# retried enqueue return the first job, --priority orders an application's
# jobs, and a flood in one application does not starve another's job.
source "$(dirname "$0")/lib.sh"
start_daemon --max-running 1
"$JOBQ" app create a --image "$TEST_IMAGE" >/dev/null
"$JOBQ" app create b --image "$TEST_IMAGE" >/dev/null

# --delay: pending until then; Docker's StartedAt is at least that late.
t0=$(date +%s%N)
delayed=$(enq a --delay 2s -- true)
assert_eq pending "$(job_field "$delayed" .state)" "a delayed job right after enqueue"
[[ $(job_field "$delayed" .not_before) != null ]] || fail "no not_before on a delayed job"
"$JOBQ" wait --timeout 30s "$delayed"
started=$(to_ns "$(job_field "$delayed" .started_at)")
((started - t0 >= 2000000000)) || fail "the delayed job started after $(((started - t0) / 1000000)) ms"
# --at, RFC 3339.
at=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
timed=$(enq a --at "$at" -- true)
"$JOBQ" wait --timeout 30s "$timed"
(($(to_ns "$(job_field "$timed" .started_at)") >= $(to_ns "$at"))) || fail "--at job started before $at"

# --key: the same key returns the same job.
k1=$(enq a --key nightly-1 -- true)
k2=$(enq a --key nightly-1 -- true)
assert_eq "$k1" "$k2" "job id for a repeated key"
"$JOBQ" enqueue a --key nightly-1 -- true | grep -q "already has key" || fail "no word that the key existed"

# Pause, then priorities and hold, then resume: high first, held never, low last.
"$JOBQ" wait --timeout 30s "$k1"
"$JOBQ" app pause a >/dev/null
assert_eq true "$("$JOBQ" app show a --json | jq .app.paused)" "paused flag"
low=$(enq a --priority -5 -- true)
plain=$(enq a -- true)
high=$(enq a --priority 7 -- true)
held=$(enq a --priority 100 -- true)
"$JOBQ" hold "$held" >/dev/null
sleep 1.5
assert_eq pending "$(job_field "$high" .state)" "job of a paused application"
"$JOBQ" app resume a >/dev/null
"$JOBQ" wait --timeout 60s "$low" "$plain" "$high"
assert_eq pending "$(job_field "$held" .state)" "held job after the others ran"
order=$(for id in "$low" "$plain" "$high"; do echo "$(to_ns "$(job_field "$id" .started_at)") $id"; done | sort -n | awk '{print $2}' | tr '\n' ' ')
assert_eq "$high $plain $low " "$order" "start order by priority"
"$JOBQ" release "$held" >/dev/null
"$JOBQ" wait --timeout 30s "$held"

# Fair share with one slot in all: b's single job waits for at most one of a's.
"$JOBQ" app pause a >/dev/null
flood=()
for _ in $(seq 1 6); do flood+=("$(enq a -- sleep 0.3)"); done
"$JOBQ" app resume a >/dev/null
single=$(enq b -- true)
"$JOBQ" wait --timeout 60s "$single"
single_start=$(to_ns "$(job_field "$single" .started_at)")
before=0
for id in "${flood[@]}"; do
  s=$(job_field "$id" .started_at)
  [[ $s != null ]] && (($(to_ns "$s") < single_start)) && before=$((before + 1))
done
((before <= 2)) || fail "$before flood jobs started before the other application's single job"
"$JOBQ" wait --timeout 60s "${flood[@]}"
echo "PASS (flood jobs before the single one: $before)"
