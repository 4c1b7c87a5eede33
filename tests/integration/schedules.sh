#!/usr/bin/env bash
# Schedules against the real dockerd: a per-second schedule fires each slot
# once and on time; --after-previous and --after-schedule chains; catch-up
# after jobqd was down (last and all); a schedule is its owner's (two real
# users); and through a kill -9 loop of jobqd no slot is doubled or lost.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root to create test users" >&2; exit 125; }
group=jobq-sched-users
test_group $group
test_user jobq-sched-ann $group
test_user jobq-sched-ben $group
chmod 755 "$WORK"
start_daemon --socket-group $group
"$JOBQ" app create s --image "$TEST_IMAGE" >/dev/null
L=(--label "jobq-test-run=$RUN_ID")

# slots_of NAME: its jobs' slots as Unix seconds, one a line, in id order.
slots_of() {
  "$JOBQ" list --schedule "$1" --limit 0 --json |
    jq -r '.jobs[] | .slot[0:19] + "Z" | fromdate'
}
# no_gap_no_double NAME WHAT: its jobs' slots are distinct and consecutive seconds.
no_gap_no_double() {
  local slots first last n
  slots=$(slots_of "$1")
  n=$(wc -l <<<"$slots")
  [[ -z $(sort <<<"$slots" | uniq -d) ]] || fail "$2: a slot fired twice: $(sort <<<"$slots" | uniq -d | tr '\n' ' ')"
  first=$(sort -n <<<"$slots" | head -1)
  last=$(sort -n <<<"$slots" | tail -1)
  assert_eq $((last - first + 1)) "$n" "$2: jobs for the slots from first to last (none lost)"
}

# 1. A per-second schedule: each slot once, committed within a second of
# its time (the benchmark measures the real lag; this bounds it loosely).
"$JOBQ" schedule create tick s --cron '* * * * * *' "${L[@]}" -- true >/dev/null
sleep 5
"$JOBQ" schedule pause tick >/dev/null
n=$(slots_of tick | wc -l)
((n >= 4)) || fail "a per-second schedule made $n jobs in 5 s"
no_gap_no_double tick "per-second schedule"
max_lag_ms=$("$JOBQ" list --schedule tick --json |
  jq '[.jobs[] | (.created_ns - ((.slot[0:19] + "Z" | fromdate) * 1000000000)) / 1000000] | max | floor')
echo "per-second schedule: $n slots, the largest lag from slot to enqueue ${max_lag_ms} ms"
((max_lag_ms < 1000 * TIME_FACTOR)) || fail "a slot was enqueued ${max_lag_ms} ms after its time"
ids=$("$JOBQ" list --schedule tick --json | jq -r '.jobs[].id')
"$JOBQ" wait --timeout 60s $ids >/dev/null || fail "the per-second jobs did not all succeed"
assert_eq "$n" "$("$JOBQ" schedule show tick --json | jq .schedule.slots.fired)" "fired slots counted"
assert_eq tick "$(job_field "$(head -1 <<<"$ids")" .schedule)" "a slot's job names its schedule"

# 2. --after-previous: the first slot's job fails, every later one is
# skipped naming the one before it.
"$JOBQ" schedule create chain s --cron '* * * * * *' --after-previous "${L[@]}" -- sh -c 'exit 3' >/dev/null
sleep 3.5
"$JOBQ" schedule pause chain >/dev/null
mapfile -t chain < <("$JOBQ" list --schedule chain --json | jq -r '.jobs[].id')
((${#chain[@]} >= 3)) || fail "--after-previous made ${#chain[@]} jobs"
"$JOBQ" wait --timeout 60s "${chain[@]}" >/dev/null 2>&1 || true
assert_eq failed "$(job_field "${chain[0]}" .state)" "the first slot's job"
assert_eq 3 "$(job_field "${chain[0]}" .exit_code)" "its exit code"
for ((i = 1; i < ${#chain[@]}; i++)); do
  assert_eq skipped "$(job_field "${chain[i]}" .state)" "slot job $((i + 1)) after a failed one"
  job_field "${chain[i]}" .reason | grep -q "dependency ${chain[i - 1]} " ||
    fail "slot job $((i + 1))'s reason does not name job ${chain[i - 1]}: $(job_field "${chain[i]}" .reason)"
done

# 3. --after-schedule: each report waits for the import of the latest slot
# at or before its own (imports every 2 s, reports every second).
"$JOBQ" schedule create import s --cron '*/2 * * * * *' "${L[@]}" -- sleep 1 >/dev/null
"$JOBQ" schedule create report s --cron '* * * * * *' --after-schedule import "${L[@]}" -- true >/dev/null
sleep 5
"$JOBQ" schedule pause report >/dev/null
"$JOBQ" schedule pause import >/dev/null
declare -A import_at
while read -r id slot; do import_at[$slot]=$id; done < <("$JOBQ" list --schedule import --json |
  jq -r '.jobs[] | "\(.id) \(.slot[0:19] + "Z" | fromdate)"')
((${#import_at[@]} >= 2)) || fail "import fired ${#import_at[@]} slots"
checked=0
while read -r id slot after; do
  want=${import_at[$((slot - slot % 2))]:-}
  [[ -n $want ]] || continue  # before import's first slot (skipped, below)
  assert_eq "$want" "$after" "report job $id (slot $slot) waits for the import of its slot"
  checked=$((checked + 1))
done < <("$JOBQ" list --schedule report --json | jq -r '.jobs[] | "\(.id) \(.slot[0:19] + "Z" | fromdate) \(.after[0])"')
((checked >= 3)) || fail "only $checked reports had an import to wait for"
r=$("$JOBQ" list --schedule report --json | jq -r '.jobs[-1].id')
"$JOBQ" wait --timeout 60s "$r" >/dev/null || fail "the last report did not succeed"
imp=$(job_field "$r" '.after[0]')
(($(to_ns "$(job_field "$r" .started_at)") > $(to_ns "$(job_field "$imp" .finished_at)"))) ||
  fail "report $r started before import $imp finished"
"$JOBQ" schedule delete import >/dev/null 2>&1 && fail "deleted a schedule another waits on"
"$JOBQ" schedule show report --json | jq -e '.schedule.recent_slots | length > 0' >/dev/null

# 4. A schedule is its owner's: ann's jobs are ann's; ben neither sees nor
# changes it, nor names it with --owner; an admin (root) does.
as jobq-sched-ann "$JOBQ" schedule create mine s --cron '@daily' "${L[@]}" -- true >/dev/null
ann_job=$(as jobq-sched-ann "$JOBQ" schedule run mine --json | jq -r .job.id)
assert_eq jobq-sched-ann "$(job_field "$ann_job" .submitted_by.user)" "a schedule's job is its owner's"
as jobq-sched-ben "$JOBQ" schedule show mine >/dev/null 2>&1 && fail "ben saw ann's schedule by its name"
as jobq-sched-ben "$JOBQ" schedule delete mine --owner jobq-sched-ann >"$WORK/ben.out" 2>&1 &&
  fail "ben deleted ann's schedule"
grep -q "only an admin" "$WORK/ben.out" || fail "ben's refusal: $(cat "$WORK/ben.out")"
assert_eq 0 "$(as jobq-sched-ben "$JOBQ" schedule list --json | jq '.schedules | length')" "ben's schedules"
as jobq-sched-ben "$JOBQ" schedule list --all >/dev/null 2>&1 && fail "ben listed every user's schedules"
as jobq-sched-ben "$JOBQ" schedule create mine s --cron '@daily' -- true >/dev/null  # his own name space
assert_eq mine "$("$JOBQ" schedule show mine --owner jobq-sched-ann --json | jq -r .schedule.name)" "admin show"
"$JOBQ" schedule delete mine --owner jobq-sched-ann >/dev/null
as jobq-sched-ann "$JOBQ" schedule show mine >/dev/null 2>&1 && fail "ann's schedule was not deleted"
as jobq-sched-ben "$JOBQ" schedule delete mine >/dev/null
"$JOBQ" wait --timeout 60s "$ann_job" >/dev/null

# 5. Catch-up after jobqd was down 3 s: `last` fires the newest slot
# missed and records the others missed; `all` fires every one.
"$JOBQ" schedule create last s --cron '* * * * * *' "${L[@]}" -- true >/dev/null
"$JOBQ" schedule create all s --cron '* * * * * *' --catch-up all "${L[@]}" -- true >/dev/null
sleep 2
stop_daemon KILL || true
sleep 3
start_daemon --socket-group $group
sleep 2
"$JOBQ" schedule pause last >/dev/null
"$JOBQ" schedule pause all >/dev/null
"$JOBQ" schedule show last --json >"$WORK/last.json"
missed=$(jq .schedule.slots.missed "$WORK/last.json")
((missed >= 1)) || fail "--catch-up last: no slot recorded missed after 3 s down"
jq -e '[.schedule.recent_slots[] | select(.outcome == "missed") | .reason] | any(test("down"))' \
  "$WORK/last.json" >/dev/null || fail "--catch-up last: the missed slots' reason: $(jq -c .schedule.recent_slots "$WORK/last.json")"
last_slots=$(slots_of last | wc -l)
fired=$(jq .schedule.slots.fired "$WORK/last.json")
assert_eq "$fired" "$last_slots" "--catch-up last: jobs for its fired slots"
assert_eq 0 "$("$JOBQ" schedule show all --json | jq .schedule.slots.missed)" "--catch-up all: missed slots"
no_gap_no_double all "--catch-up all, after 3 s down"

# 6. A kill -9 loop: a per-second schedule (catching up all) through five
# kills of jobqd at random moments: every slot from its first to its last
# has exactly one job.
"$JOBQ" schedule create loop s --cron '* * * * * *' --catch-up all "${L[@]}" -- true >/dev/null
for _ in 1 2 3 4 5; do
  sleep "$((RANDOM % 2)).$((RANDOM % 9 + 1))"
  stop_daemon KILL || true
  start_daemon --socket-group $group
done
sleep 1.5
"$JOBQ" schedule pause loop >/dev/null
no_gap_no_double loop "through a kill loop"
"$JOBQ" schedule show loop --json >"$WORK/loop.json"
assert_eq "$(slots_of loop | wc -l)" "$(jq .schedule.slots.fired "$WORK/loop.json")" "kill loop: fired slots counted"
assert_eq 0 "$(jq .schedule.slots.missed "$WORK/loop.json")" "kill loop: missed slots"
echo "kill loop: $(slots_of loop | wc -l) slots, each once"
echo "ok"
