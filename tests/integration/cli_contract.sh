#!/usr/bin/env bash
# The CLI's documented exit codes and messages, the socket's mode, one daemon
# per state directory, deleting applications, and a clean SIGTERM that leaves
# running containers alone and picks them up again on the next start.
source "$(dirname "$0")/lib.sh"

rc=0; "$JOBQ" --socket "$WORK/nobody.sock" --connect-timeout 0 status 2>"$WORK/err" || rc=$?
assert_eq 69 "$rc" "daemon unreachable"
grep -q "jobqd is not running at $WORK/nobody.sock" "$WORK/err" || fail "unreachable message: $(cat "$WORK/err")"
# With --json, an error is a document on stdout too.
rc=0; "$JOBQ" --socket "$WORK/nobody.sock" --connect-timeout 0 status --json >"$WORK/out" 2>/dev/null || rc=$?
assert_eq 69 "$rc" "daemon unreachable, --json"
assert_eq "1 69 unreachable" "$(jq -r '"\(.schema) \(.error.exit_code) \(.error.meaning)"' "$WORK/out")" \
  "the error document when unreachable"
jq -r .error.message "$WORK/out" | grep -q "not running at $WORK/nobody.sock" || fail "error document: $(cat "$WORK/out")"

# Parsing: every level says "jobq: error:" with a hint; commands and options get suggestions.
usage_error() {  # what expected-stderr-text jobq-args...
  local what=$1 text=$2 rc=0
  shift 2
  "$JOBQ" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  assert_eq 64 "$rc" "$what"
  grep -qF -- "$text" "$WORK/err" || fail "$what: stderr lacks '$text': $(cat "$WORK/err")"
}
usage_error "bare jobq" "jobq: error: 'jobq' needs a command: app, enqueue,"
grep -q "^ *enqueue  *Enqueue a job" "$WORK/err" || fail "bare jobq lists no commands: $(cat "$WORK/err")"
usage_error "jobq app" "jobq: error: 'jobq app' needs a command: create, update, delete, pause, resume, list, show (see 'jobq app --help')" app
usage_error "a misspelt subcommand" "jobq: error: unknown command 'lst'; did you mean 'list'? (see 'jobq app --help')" app lst
usage_error "a misspelt option" "jobq: error: list: the following arguments were not expected: running --stat; did you mean '--state'? (see 'jobq list --help')" list running --stat
usage_error "an unknown option before the command" "jobq: error: enqueue: " enqueue t --bogus true

start_daemon
assert_eq true "$("$JOBQ" status --json | jq .status.engine.reachable)" "engine reachable in status"
assert_eq 660 "$(stat -c %a "$JOBQ_SOCKET")" "socket mode"
rc=0; "$JOBQ" enqueue 2>/dev/null || rc=$?;                   assert_eq 64 "$rc" "missing argument"
rc=0; "$JOBQ" stattus 2>"$WORK/err" || rc=$?;                 assert_eq 64 "$rc" "unknown subcommand"
grep -q "did you mean 'status'" "$WORK/err" || fail "no suggestion for a misspelt command"
rc=0; "$JOBQ" show 999999 2>/dev/null || rc=$?;              assert_eq 66 "$rc" "no such job"
rc=0; "$JOBQ" show abc 2>/dev/null || rc=$?;                 assert_eq 64 "$rc" "malformed job id"
rc=0; "$JOBQ" enqueue nosuchapp -- true 2>/dev/null || rc=$?; assert_eq 66 "$rc" "no such application"
rc=0; "$JOBQ" show 999999 --json >"$WORK/out" 2>/dev/null || rc=$?; assert_eq 66 "$rc" "no such job, --json"
assert_eq "66 not_found not_found" "$(jq -r '"\(.error.exit_code) \(.error.meaning) \(.error.jobqd_error)"' "$WORK/out")" \
  "the error document of a missing job"
rc=0; "$JOBQ" app create t --image "$TEST_IMAGE" --env 1BAD=x 2>/dev/null || rc=$?
assert_eq 1 "$rc" "invalid env name refused"
"$JOBQ" app create t --image "$TEST_IMAGE" --max-running 1 >/dev/null
rc=0; "$JOBQ" app create t --image "$TEST_IMAGE" 2>/dev/null || rc=$?; assert_eq 1 "$rc" "duplicate application"
rc=0; "$JOBQ" enqueue t --message '{not json' -- true 2>/dev/null || rc=$?; assert_eq 64 "$rc" "invalid --message"
rc=0; "$JOBQ" app show tt 2>"$WORK/err" || rc=$?; assert_eq 66 "$rc" "a misspelt application"
grep -qF "no application named 'tt'; did you mean 't'?" "$WORK/err" || fail "no suggestion for an application: $(cat "$WORK/err")"
rc=0; "$JOBQ" enqueue tt true 2>"$WORK/err" || rc=$?; assert_eq 66 "$rc" "enqueue in a misspelt application"
grep -qF "did you mean 't'?" "$WORK/err" || fail "no suggestion at enqueue: $(cat "$WORK/err")"
# After the command's first word, every word is the command's, as with docker run.
held=$("$JOBQ" enqueue -q --label "jobq-test-run=$RUN_ID" --delay 1h t echo -n --json hi)
assert_eq '["echo","-n","--json","hi"]' "$("$JOBQ" show "$held" --json | jq -c .job.command)" "the command after its first word"
held2=$("$JOBQ" enqueue -q --label "jobq-test-run=$RUN_ID" --delay 1h t -- echo -n hi)
assert_eq '["echo","-n","hi"]' "$("$JOBQ" show "$held2" --json | jq -c .job.command)" "the command after --"
"$JOBQ" cancel "$held" >/dev/null
# wait exiting 125 says how each such job ended, on stderr.
rc=0; "$JOBQ" wait "$held" "$held2" >/dev/null 2>"$WORK/err" & held_wait=$!
sleep 0.3; "$JOBQ" cancel "$held2" >/dev/null
wait $held_wait || rc=$?
assert_eq 125 "$rc" "wait on cancelled jobs"
grep -q "^jobq: job $held cancelled" "$WORK/err" || fail "wait's 125 does not say why: $(cat "$WORK/err")"
grep -q "^jobq: job $held2 cancelled" "$WORK/err" || fail "wait's 125 names not every job: $(cat "$WORK/err")"

# A live socket is never stolen, even by a daemon with its own state directory.
rc=0; timeout 10 "$JOBQD" --socket "$JOBQ_SOCKET" --state-dir "$WORK/state2" 2>"$WORK/err" || rc=$?
assert_eq 1 "$rc" "second daemon on a live socket"
grep -q "already listening on $JOBQ_SOCKET" "$WORK/err" || fail "live socket message: $(cat "$WORK/err")"
"$JOBQ" status >/dev/null || fail "the first daemon lost its socket"
# A socket directory others could write to is refused, with the fix.
mkdir -p "$WORK/open" && chmod 777 "$WORK/open"
rc=0; timeout 10 "$JOBQD" --socket "$WORK/open/s.sock" --state-dir "$WORK/state3" 2>"$WORK/err" || rc=$?
assert_eq 1 "$rc" "socket in a world-writable directory"
grep -q "chmod go-w $WORK/open" "$WORK/err" || fail "no fix-it for the socket directory: $(cat "$WORK/err")"

# A second daemon on the same state directory refuses to start.
rc=0; timeout 10 "$JOBQD" --socket "$WORK/other.sock" --state-dir "$WORK/state" 2>"$WORK/err" || rc=$?
assert_eq 1 "$rc" "second daemon on one state dir"
grep -q "already using the state directory" "$WORK/err" || fail "second daemon message: $(cat "$WORK/err")"

# Long enough to still run when jobqd stops below, on a loaded machine too.
long=$(enq t -- sh -c 'sleep 12; exit 5')
queued=$(enq t -- sh -c 'exit 0')
rc=0; "$JOBQ" wait --timeout 200ms "$long" 2>/dev/null || rc=$?; assert_eq 124 "$rc" "wait timed out"
rc=0; "$JOBQ" wait --timeout 200ms --json "$long" >"$WORK/out" 2>/dev/null || rc=$?
assert_eq 124 "$rc" "wait --json timed out"
assert_eq "$long 124 timeout" "$(jq -r '"\(.jobs[0].id) \(.error.exit_code) \(.error.meaning)"' "$WORK/out")" \
  "wait --timeout --json prints the jobs as they stand"

# Deleting an application with unfinished jobs is refused unless forced.
rc=0; "$JOBQ" app delete t 2>/dev/null || rc=$?; assert_eq 1 "$rc" "delete of a busy application"
assert_eq t "$("$JOBQ" app show t --json | jq -r .app.name)" "application still there"

# SIGTERM: exits 0 and leaves the running container alone.
for _ in $(seq 1 100); do
  [[ $(job_field "$long" .state) == running ]] && break
  sleep 0.1
done
name=$(job_field "$long" '.attempts[0].container_name')
# A wait that is under way when jobqd stops reconnects and still gets the result.
"$JOBQ" wait "$long" >"$WORK/bgwait.out" 2>&1 &
bg_wait=$!
sleep 0.3
rc=0; stop_daemon TERM || rc=$?
assert_eq 0 "$rc" "jobqd exit status on SIGTERM"
assert_eq true "$(docker inspect -f '{{.State.Running}}' "$name")" "container still running after jobqd stopped"
[[ ! -e $JOBQ_SOCKET ]] || fail "socket left behind after a clean stop"

# Start again: the running job is picked up and its true result recorded.
start_daemon
rc=0; "$JOBQ" wait --timeout 60s "$long" || rc=$?
assert_eq 5 "$rc" "exit code of the job that ran across the restart"
rc=0; wait "$bg_wait" || rc=$?
assert_eq 5 "$rc" "a jobq wait that spanned the restart (output: $(cat "$WORK/bgwait.out"))"
assert_eq "$(job_field "$long" .finished_at)" "$(job_field "$long" '.attempts[0].finished_at')" "finish time"
rc=0; "$JOBQ" wait --timeout 60s "$queued" || rc=$?; assert_eq 0 "$rc" "queued job ran after the restart"
"$JOBQ" app delete t >/dev/null
rc=0; "$JOBQ" app show t 2>/dev/null || rc=$?; assert_eq 66 "$rc" "deleted application"
echo "PASS"
