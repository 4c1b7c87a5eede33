#!/usr/bin/env bash
# Why a pending job waits: `pending_reason` in JSON, the state cell of `list`,
# the `waiting:` line of `show`, and PAUSED in `app list`; each reason from a
# real jobqd: an application's limit, jobqd's limit, dependencies, a hold, a
# delay, a retry's backoff, a paused application.
source "$(dirname "$0")/lib.sh"
start_daemon --max-running 2
"$JOBQ" app create one --image "$TEST_IMAGE" --max-running 1 >/dev/null
"$JOBQ" app create many --image "$TEST_IMAGE" >/dev/null

reason() { job_jq "$1" '.pending_reason.kind // "null"'; }

a=$(enq one -- sleep 60)
wait_state "$a" running
assert_eq null "$(reason "$a")" "a running job's pending_reason"

# The application's limit: one of its one slot is taken.
b=$(enq one -- true)
sleep 0.5
assert_eq app_limit "$(reason "$b")" "kind behind the application's limit"
assert_eq "1/1" "$(job_jq "$b" '"\(.pending_reason.running)/\(.pending_reason.max)"')" "application load"
"$JOBQ" list --app one | grep -E "^$b +one +pending \(app 1/1\)" >/dev/null ||
  fail "list does not say why $b waits: $("$JOBQ" list --app one)"
"$JOBQ" show "$b" | grep -E '^waiting: +for a slot: application one runs 1 of its 1$' >/dev/null ||
  fail "show does not say why $b waits: $("$JOBQ" show "$b")"

# jobqd's limit: two running in all.
c=$(enq many -- sleep 60)
wait_state "$c" running
d=$(enq many -- true)
sleep 0.5
assert_eq daemon_limit "$(reason "$d")" "kind behind jobqd's --max-running"
assert_eq "2/2" "$(job_jq "$d" '"\(.pending_reason.running)/\(.pending_reason.max)"')" "jobqd's load"
"$JOBQ" list --app many | grep -E "^$d +many +pending \(jobqd 2/2\)" >/dev/null ||
  fail "list does not name jobqd's limit: $("$JOBQ" list --app many)"

# Dependencies, named.
e=$(enq many --after "$a" --after-any "$c" -- true)
assert_eq dependencies "$(reason "$e")" "kind of a job after others"
assert_eq "$a,$c" "$(job_jq "$e" '.pending_reason.jobs | map(tostring) | join(",")')" "the jobs it waits for"
"$JOBQ" list --app many | grep -E "^$e +many +pending \(after $a,$c\)" >/dev/null ||
  fail "list does not name the dependencies: $("$JOBQ" list --app many)"

# Held (the hold's reply says so too), then released: the next reason shows.
f=$(enq many --delay 1h -- true)
assert_eq not_before "$(reason "$f")" "kind of a delayed job"
at_ns=$(job_jq "$f" .pending_reason.at_ns)
assert_eq "$(job_jq "$f" .not_before_ns)" "$at_ns" "the delay's time"
assert_eq held "$("$JOBQ" hold "$f" --json | jq -r .job.pending_reason.kind)" "kind in hold's reply"
assert_eq held "$(reason "$f")" "held outranks the delay"
"$JOBQ" show "$f" | grep -E "^waiting: +held: it starts only after 'jobq release $f'$" >/dev/null ||
  fail "show does not say it is held: $("$JOBQ" show "$f")"
"$JOBQ" release "$f" >/dev/null
assert_eq not_before "$(reason "$f")" "released: the delay again"

# A paused application: every pending job of it, and `app list` says so.
"$JOBQ" app pause one >/dev/null
assert_eq paused "$(reason "$b")" "kind in a paused application"
"$JOBQ" app list | grep -E '^one +[^ ]+ +1 +yes +' >/dev/null ||
  fail "app list does not show one as paused: $("$JOBQ" app list)"
"$JOBQ" app list | grep -E '^many +[^ ]+ +unlimited +no +' >/dev/null ||
  fail "app list does not show many as running: $("$JOBQ" app list)"
"$JOBQ" app resume one >/dev/null
assert_eq app_limit "$(reason "$b")" "resumed: the limit again"

# A retry's backoff: a failed attempt waits for its retry time.
"$JOBQ" app create flaky --image "$TEST_IMAGE" --retries 1 --retry-base 1h --retry-max 1h >/dev/null
"$JOBQ" cancel "$c" >/dev/null  # a slot for it
g=$(enq flaky -- sh -c 'exit 3')
for _ in $(seq 1 100); do
  [[ $(job_field "$g" .retries_used) == 1 ]] && break
  sleep 0.1
done
assert_eq retry_backoff "$(reason "$g")" "kind of a job waiting for its retry"
assert_eq 1 "$(job_jq "$g" .pending_reason.retry)" "which retry"

# Only pending jobs have one, in a whole list too.
assert_eq 0 "$("$JOBQ" list --json | jq '[.jobs[] | select((.state == "pending") != (.pending_reason != null))] | length')" \
  "pending_reason set exactly for pending jobs"
"$JOBQ" cancel "$a" >/dev/null
echo "PASS"
