#!/usr/bin/env bash
# What one user may read of another's jobs, with two real users: the owner
# and admins see all; another user sees the metadata, never the command, env
# values, message or output (show, list, wait, logs, logs -f); application
# env values and webhook URLs are for admins. Idempotency keys are per user.
# A job an admin cancelled is retried by an admin only. Human output never
# carries a control sequence a user wrote (OSC 52).
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root to create test users" >&2; exit 125; }
group=jobq-vis-users
test_group $group
test_user jobq-vis-ann $group
test_user jobq-vis-ben $group
chmod 755 "$WORK"
start_daemon --socket-group $group
secrets='s3cret-token|4111-card|hunter2-arg|out-secret-42|pw-in-dsn|T0K3N-hook'
no_secret() {  # what file
  ! grep -Eq "$secrets" "$2" || fail "$1 leaks: $(grep -Eo "$secrets" "$2" | sort -u | tr '\n' ' ')"
}

"$JOBQ" app create t --image "$TEST_IMAGE" --env "DSN=postgres://u:pw-in-dsn@db" \
  --webhook "http://127.0.0.1:9/hook?token=T0K3N-hook" >/dev/null
ann_job=$(as jobq-vis-ann "$JOBQ" enqueue t -q --label "jobq-test-run=$RUN_ID" --env API_TOKEN=s3cret-token \
  --message '{"card":"4111-card"}' --key nightly -- sh -c 'echo out-secret-42; : hunter2-arg')
as jobq-vis-ann "$JOBQ" wait "$ann_job" >/dev/null

# The owner sees everything.
as jobq-vis-ann "$JOBQ" show "$ann_job" --json >"$WORK/ann.json"
assert_eq s3cret-token "$(jq -r .job.env.API_TOKEN "$WORK/ann.json")" "the owner's env value"
assert_eq 4111-card "$(jq -r .job.message.card "$WORK/ann.json")" "the owner's message"
assert_eq "[]" "$(jq -c .job.redacted "$WORK/ann.json")" "nothing withheld from the owner"
assert_eq out-secret-42 "$(as jobq-vis-ann "$JOBQ" logs "$ann_job")" "the owner's output"
assert_eq out-secret-42 "$("$JOBQ" logs "$ann_job")" "an admin reads the output"

# Another user: metadata yes; command, env values, message, output no.
as jobq-vis-ben "$JOBQ" show "$ann_job" --json >"$WORK/ben.json"
no_secret "ben's show --json" "$WORK/ben.json"
assert_eq '["command","env","message","output"]' "$(jq -c .job.redacted "$WORK/ben.json")" "redacted list"
assert_eq 'succeeded 0 jobq-vis-ann null' \
  "$(jq -r '.job | "\(.state) \(.exit_code) \(.submitted_by.user) \(.env.API_TOKEN)"' "$WORK/ben.json")" "ben's view"
as jobq-vis-ben "$JOBQ" show "$ann_job" >"$WORK/ben.txt"
no_secret "ben's show" "$WORK/ben.txt"
grep -q "API_TOKEN=(withheld)" "$WORK/ben.txt" || fail "show does not say the env value is withheld: $(cat "$WORK/ben.txt")"
as jobq-vis-ben "$JOBQ" list --json >"$WORK/ben-list.json"
no_secret "ben's list --json" "$WORK/ben-list.json"
assert_eq '["command","env","message","output"]' \
  "$(jq -c ".jobs[] | select(.id == $ann_job) | .redacted" "$WORK/ben-list.json")" "list's redacted list"
as jobq-vis-ben "$JOBQ" list >"$WORK/ben-list.txt"
no_secret "ben's list" "$WORK/ben-list.txt"
as jobq-vis-ben "$JOBQ" wait "$ann_job" --json >"$WORK/ben-wait.json"
no_secret "ben's wait --json" "$WORK/ben-wait.json"
assert_eq succeeded "$(jq -r '.jobs[0].state' "$WORK/ben-wait.json")" "ben's wait still answers"
for follow in "" -f; do
  rc=0; as jobq-vis-ben timeout 20 "$JOBQ" logs $follow "$ann_job" >"$WORK/ben-logs" 2>"$WORK/err" || rc=$?
  assert_eq 77 "$rc" "ben's logs $follow"
  no_secret "ben's logs $follow" "$WORK/ben-logs"
  grep -q "owner and admins only" "$WORK/err" || fail "logs refusal: $(cat "$WORK/err")"
done
# top (one snapshot when not on a terminal) lists running jobs' commands.
running=$(as jobq-vis-ann "$JOBQ" enqueue t -q --label "jobq-test-run=$RUN_ID" -- sh -c 'sleep 60; : hunter2-arg')
wait_state "$running" running
as jobq-vis-ben "$JOBQ" top >"$WORK/ben-top.txt"
no_secret "ben's top" "$WORK/ben-top.txt"
grep -q "^$running .*(withheld)" "$WORK/ben-top.txt" || fail "top does not list ann's job as withheld: $(cat "$WORK/ben-top.txt")"
"$JOBQ" top | grep -q hunter2-arg || fail "an admin's top does not show the command"
"$JOBQ" cancel "$running" >/dev/null
# Applications: env values and webhook URLs for admins only.
as jobq-vis-ben "$JOBQ" app show t --json >"$WORK/ben-app.json"
no_secret "ben's app show --json" "$WORK/ben-app.json"
assert_eq 'null null ["env","webhooks.urls"]' \
  "$(jq -c '.app | [.env.DSN, .webhooks.urls, .redacted] | map(tojson) | join(" ")' "$WORK/ben-app.json" | jq -r .)" "ben's app view"
as jobq-vis-ben "$JOBQ" app list --json >"$WORK/ben-apps.json"
no_secret "ben's app list --json" "$WORK/ben-apps.json"
as jobq-vis-ben "$JOBQ" app show t >"$WORK/ben-app.txt"
no_secret "ben's app show" "$WORK/ben-app.txt"
"$JOBQ" app show t --json | grep -q pw-in-dsn || fail "an admin does not see the app's env"

# Keys are per user: ben's "nightly" is his own job, and ann's is still hers.
as jobq-vis-ben "$JOBQ" enqueue t --json --label "jobq-test-run=$RUN_ID" --key nightly -- true >"$WORK/ben-enq.json"
ben_job=$(jq -r .job.id "$WORK/ben-enq.json")
[[ $ben_job != "$ann_job" ]] || fail "ben's enqueue with ann's key returned ann's job"
assert_eq "false jobq-vis-ben" "$(jq -r '.job | "\(.existing) \(.submitted_by.user)"' "$WORK/ben-enq.json")" "ben's keyed job"
assert_eq "$ann_job true" \
  "$(as jobq-vis-ann "$JOBQ" enqueue t --json --key nightly -- true | jq -r '.job | "\(.id) \(.existing)"')" "ann's key again"
assert_eq "$ben_job" "$(as jobq-vis-ben "$JOBQ" enqueue t -q --key nightly -- true)" "ben's key again"

# Cancel versus retry: an admin's cancel is undone by an admin only.
held=$(as jobq-vis-ann "$JOBQ" enqueue t -q --label "jobq-test-run=$RUN_ID" --delay 1h -- true)
"$JOBQ" cancel "$held" >/dev/null
rc=0; as jobq-vis-ann "$JOBQ" retry "$held" 2>"$WORK/err" || rc=$?
assert_eq 77 "$rc" "the owner retrying an admin's cancel"
grep -q "cancelled by an admin" "$WORK/err" || fail "retry refusal: $(cat "$WORK/err")"
assert_eq cancelled "$(job_field "$held" .state)" "the refused retry changed nothing"
assert_eq "0 true" "$(job_jq "$held" '"\(.cancelled_by.uid) \(.cancelled_by.admin)"')" "who cancelled"
"$JOBQ" show "$held" | grep -q "cancelled by: *root (uid 0), an admin" || fail "show does not say who cancelled"
"$JOBQ" retry "$held" >/dev/null || fail "an admin cannot retry it"
own=$(as jobq-vis-ann "$JOBQ" enqueue t -q --label "jobq-test-run=$RUN_ID" --delay 1h -- true)
as jobq-vis-ann "$JOBQ" cancel "$own" >/dev/null
as jobq-vis-ann "$JOBQ" retry "$own" >/dev/null || fail "the owner cannot retry her own cancel"

# Terminal injection: OSC 52 (clipboard), a title, a screen clear, a C1 CSI.
evil=$(printf 'x\033]52;c;ZWNobyBwd25lZA==\007\033]0;owned\007\033[2J\302\2332J')
bad_job=$(as jobq-vis-ann "$JOBQ" enqueue t -q --label "jobq-test-run=$RUN_ID" --label "note=$evil" \
  --env "E=$evil" --key "$evil" --delay 1h -- echo "$evil")
controls() { LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f\x9b]' "$1" || true; }
"$JOBQ" show "$bad_job" >"$WORK/evil.txt"
assert_eq 0 "$(controls "$WORK/evil.txt")" "control bytes in root's show"
grep -qF '\x1b]52;c;' "$WORK/evil.txt" || fail "show hides the command instead of escaping it"
grep -qF '\u009b' "$WORK/evil.txt" || fail "the C1 CSI is not shown escaped"
"$JOBQ" list >"$WORK/evil-list.txt"
assert_eq 0 "$(controls "$WORK/evil-list.txt")" "control bytes in root's list"
"$JOBQ" show "$bad_job" --json | jq -e --arg e "$evil" '.job.command[1] == $e' >/dev/null || fail "--json changed the command"
"$JOBQ" cancel "$bad_job" >/dev/null
echo "PASS"
