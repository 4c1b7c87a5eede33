#!/usr/bin/env bash
# jobq list's filters (several states, user, label, since), newest first and
# chosen columns; jobq update (priority, hold, release: owner or admin,
# pending jobs only); jobq logs of a job that never started says why.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root to create test users" >&2; exit 125; }
group=jobq-list-users
test_group $group
test_user jobq-list-ann $group
test_user jobq-list-ben $group
chmod 755 "$WORK"
start_daemon --socket-group $group
"$JOBQ" app create l --image "$TEST_IMAGE" >/dev/null
"$JOBQ" app create p --image "$TEST_IMAGE" >/dev/null
"$JOBQ" app pause p >/dev/null  # its jobs stay pending

ok=$(enq l --label team=a -- true)
bad=$(enq l --label team=b -- sh -c 'exit 3')
"$JOBQ" wait --timeout 60s "$ok" "$bad" >/dev/null || true
sleep 1.1
since=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
ann=$(as jobq-list-ann "$JOBQ" enqueue p -q --label team=a -- true)
ben=$(as jobq-list-ben "$JOBQ" enqueue p -q -- true)
gone=$(enq p -- true)
"$JOBQ" cancel "$gone" >/dev/null

ids() { "$JOBQ" list --json "$@" | jq -r '[.jobs[].id] | join(" ")'; }
assert_eq "$bad $gone" "$(ids --state failed,cancelled)" "--state failed,cancelled"
assert_eq "$bad $gone" "$(ids --state failed --state cancelled)" "--state repeated"
assert_eq "$ann $ben" "$(ids --state pending)" "--state pending"
assert_eq "$ok $ann" "$(ids --label team=a)" "--label team=a"
assert_eq "$ok $bad $ann" "$(ids --label team)" "--label team (set at all)"
assert_eq "$ann" "$(ids --label team=a --app p)" "--label with --app"
assert_eq "$ben" "$(ids --user jobq-list-ben)" "--user"
assert_eq "" "$(ids --user nobody-here)" "--user with no jobs"
assert_eq "$ann $ben $gone" "$(ids --since "$since")" "--since a time"
assert_eq "$ok $bad $ann $ben $gone" "$(ids --since 1h)" "--since a duration"
assert_eq "$gone $ben $ann $bad $ok" "$(ids -r)" "newest first"
assert_eq "$gone $ben" "$(ids -r --limit 2)" "newest first, the most recent 2"
# Filters are paged like the whole list: a small page size still finds them all.
for _ in $(seq 1 5); do enq l -- true >/dev/null; done
assert_eq "$bad $gone" "$(ids --state failed,cancelled --limit 0)" "states across pages"

# Columns.
out=$("$JOBQ" list --state failed --format id,state,exit,labels)
assert_eq "ID STATE EXIT LABELS" "$(head -n 1 <<<"$out" | tr -s ' ')" "--format header"
assert_eq "$bad failed 3 jobq-test-run=$RUN_ID,team=b" "$(tail -n 1 <<<"$out" | tr -s ' ')" "--format row"
assert_eq "$bad,failed" "$("$JOBQ" list --state failed --format ID,State --no-header | tr -s ' ' ,)" "--no-header, any case"
rc=0
"$JOBQ" list --format id,colour 2>"$WORK/err" >/dev/null || rc=$?
assert_eq 64 "$rc" "an unknown column"
grep -q "no column 'colour' (columns: id, app, state" "$WORK/err" || fail "unknown column message: $(cat "$WORK/err")"
rc=0
"$JOBQ" list --state bogus 2>/dev/null >/dev/null || rc=$?
assert_eq 64 "$rc" "an unknown state"

# update: the owner changes priority and hold; another user may not; an admin may.
as jobq-list-ann "$JOBQ" update "$ann" --priority 7 >/dev/null
assert_eq 7 "$(job_field "$ann" .priority)" "priority after update"
as jobq-list-ann "$JOBQ" update "$ann" --hold --priority -2 >/dev/null
assert_eq "true -2" "$(job_jq "$ann" '"\(.held) \(.priority)"')" "held and priority in one update"
rc=0
as jobq-list-ben "$JOBQ" update "$ann" --release 2>"$WORK/err" || rc=$?
assert_eq 77 "$rc" "another user's update"
grep -q "belongs to jobq-list-ann" "$WORK/err" || fail "forbidden message: $(cat "$WORK/err")"
assert_eq true "$(job_field "$ann" .held)" "held after a refused update"
"$JOBQ" update "$ann" --release >/dev/null
assert_eq false "$(job_field "$ann" .held)" "an admin releases it"
rc=0
"$JOBQ" update "$bad" --priority 1 2>"$WORK/err" || rc=$?
assert_eq 1 "$rc" "update of a finished job"
grep -q "only a pending (or held) job can be updated" "$WORK/err" || fail "conflict message: $(cat "$WORK/err")"
rc=0
"$JOBQ" update "$ann" 2>/dev/null || rc=$?
assert_eq 64 "$rc" "update without a change"
rc=0
"$JOBQ" update "$ann" --hold --release 2>/dev/null || rc=$?
assert_eq 64 "$rc" "--hold with --release"

# logs of a job that never started says why (and is not an error).
rc=0
"$JOBQ" logs "$gone" >"$WORK/out" 2>"$WORK/err" || rc=$?
assert_eq 0 "$rc" "logs of a cancelled pending job"
assert_eq "jobq: job $gone never started: it was cancelled while pending" "$(cat "$WORK/err")" "why no output"
[[ ! -s $WORK/out ]] || fail "output of a job that never ran: $(cat "$WORK/out")"
"$JOBQ" hold "$ben" >/dev/null
"$JOBQ" logs "$ben" --both 2>"$WORK/err"
assert_eq "jobq: job $ben has not started yet: it is held (jobq release $ben)" "$(cat "$WORK/err")" "a held job"
echo "PASS"
