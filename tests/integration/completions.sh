#!/usr/bin/env bash
# Shell completions: completions/jobq.bash, driven the way bash drives it
# (COMP_WORDS, COMP_CWORD, the function `complete -p jobq` names), offers
# subcommands, options, application names and job ids from a live jobqd, and
# the states; every subcommand of `jobq --help` is offered (a rename or a new
# command can never be missed); with jobqd gone or hung it offers nothing,
# says nothing and is quick. zsh and fish scripts are checked where installed.
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$WORK/bin"
ln -s "$JOBQ" "$WORK/bin/jobq"

# complete LINE: what the bash completion offers for LINE with the cursor at
# its end (a trailing space starts a new, empty word), one per line, sorted.
# Its stderr goes to $WORK/complete.err.
complete_line() {
  PATH="$WORK/bin:$PATH" bash --norc --noprofile -c '
    set -u
    source "$1"
    fn=$(complete -p jobq | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
    [[ -n $fn ]] || { echo "no complete -F for jobq" >&2; exit 1; }
    line=$2
    read -ra COMP_WORDS <<<"$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    if [[ ${SPLIT_BREAKS:-0} == 1 ]]; then  # as bash does: "--socket=x" is --socket, =, x
      split=()
      for w in "${COMP_WORDS[@]}"; do
        if [[ $w == *[=@]* ]]; then
          mapfile -t -O "${#split[@]}" split < <(grep -oE "[=@]|[^=@]+" <<<"$w")
        else
          split+=("$w")
        fi
      done
      COMP_WORDS=("${split[@]}")
    fi
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line
    COMP_POINT=${#line}
    COMPREPLY=()
    prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    "$fn" jobq "${COMP_WORDS[COMP_CWORD]}" "$prev"
    ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
  ' complete_line "$SRC/completions/jobq.bash" "$1" 2>"$WORK/complete.err" | sort
}

# offers LINE WORD...: each WORD is among the candidates for LINE.
offers() {
  local line=$1 got w
  shift
  got=$(complete_line "$line")
  for w in "$@"; do
    grep -qxF -- "$w" <<<"$got" || fail "'$line<TAB>' does not offer '$w'; it offers: $(echo $got)"
  done
}

# offers_only LINE WORD...: exactly these candidates.
offers_only() {
  local line=$1
  shift
  assert_eq "$(printf '%s\n' "$@" | sort)" "$(complete_line "$line")" "candidates for '$line<TAB>'"
}

start_daemon
"$JOBQ" app create reports --image "$TEST_IMAGE" >/dev/null
"$JOBQ" app create reindex --image "$TEST_IMAGE" >/dev/null
"$JOBQ" app create mail --image "$TEST_IMAGE" >/dev/null
# An older job still running and a newer one finished: unfinished comes first.
running=$(enq reports -- sleep 60)
done_job=$(enq mail -- true)
"$JOBQ" wait --timeout 60s "$done_job"
wait_state "$running" running

# Subcommands, and every one `jobq --help` lists.
offers "jobq " enqueue logs app list show wait cancel status
help_commands=$("$JOBQ" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [^ ]/ {print $1}')
[[ -n $help_commands ]] || fail "no subcommands in jobq --help"
# shellcheck disable=SC2086
offers "jobq " $help_commands
complete_line "jobq " | grep -q '^__' && fail "the hidden __complete is offered"
offers "jobq app " create show update delete pause resume list
offers_only "jobq enq" enqueue
offers_only "jobq app sh" show

# Options of the current subcommand.
offers "jobq enqueue --re" --retries --retry-base --retry-max --retry-on --read-only
complete_line "jobq enqueue --re" | grep -qx -- --env && fail "'--re' offers --env"
offers "jobq logs -" -f --follow --tail --stderr
offers "jobq -" --socket --help
offers "jobq status " --json

# Application names, from jobqd.
offers_only "jobq enqueue " reports reindex mail
offers_only "jobq enqueue re" reports reindex
offers_only "jobq list --app " reports reindex mail
offers_only "jobq list --json --app r" reports reindex
offers_only "jobq app show " reports reindex mail
offers_only "jobq app pause m" mail
offers_only "jobq app create " # a new name: nothing to offer

# Job ids, from jobqd, unfinished first.
offers "jobq show " "$running" "$done_job"
offers "jobq logs " "$running" "$done_job"
offers "jobq wait $done_job " "$running" "$done_job"
offers "jobq enqueue reports --after " "$running" "$done_job"
offers "jobq enqueue reports --after $done_job," "$done_job,$running"
first=$("$JOBQ" __complete -- show "" | head -n 1)
assert_eq "$running" "$first" "first job id offered (the unfinished one)"
"$JOBQ" __complete --describe -- show "" | grep -qxF "$running"$'\t'"running in reports" ||
  fail "--describe for job ids: $("$JOBQ" __complete --describe -- show "")"

# States.
offers_only "jobq list --state " pending starting running succeeded failed cancelled lost timed_out skipped
offers_only "jobq list --state s" starting succeeded skipped

# Files: after --batch, --socket (also --socket=PATH, which bash splits at
# '=') and --message @ (bash splits at '@'): bash replaces only the part after
# the break, so that part is what is offered.
touch "$WORK/jobs.ndjson" "$WORK/jobs2.ndjson"
offers_only "jobq enqueue --batch $WORK/jobs" "$WORK/jobs.ndjson" "$WORK/jobs2.ndjson"
offers_only "jobq enqueue app --message @$WORK/jobs." "$WORK/jobs.ndjson"
offers_only "jobq enqueue app --message x" # JSON itself: nothing to offer
offers_only "jobq --socket $WORK/jobs." "$WORK/jobs.ndjson"
offers_only "jobq --socket=$WORK/jobs." "$WORK/jobs.ndjson"
offers_only "jobq list --app=rep" reports
# The same, with COMP_WORDS split at '=' and '@' as bash splits them.
export SPLIT_BREAKS=1
offers_only "jobq --socket=$WORK/jobs." "$WORK/jobs.ndjson"
offers_only "jobq enqueue app --message @$WORK/jobs." "$WORK/jobs.ndjson"
offers_only "jobq list --app=rep" reports
offers_only "jobq list --app=" reports reindex mail
offers_only "jobq list --state failed,s" failed,starting failed,succeeded failed,skipped
unset SPLIT_BREAKS
# Job ids keep jobq's numeric order (unfinished first, then newest): no sorting by bash.
complete_spec=$(bash --norc --noprofile -c 'source "$1"; complete -p jobq' _ "$SRC/completions/jobq.bash")
[[ $complete_spec == *"-o nosort"* ]] || fail "bash sorts the candidates: $complete_spec"

# --socket among the words wins over the environment.
got=$(JOBQ_SOCKET=$WORK/nobody.sock "$JOBQ" __complete -- --socket "$JOBQ_SOCKET" enqueue "")
assert_eq "$(printf '%s\n' mail reindex reports)" "$(sort <<<"$got")" "apps through --socket"
[[ ! -s $WORK/complete.err ]] || fail "completion wrote to stderr: $(cat "$WORK/complete.err")"

# jobqd hung (stopped): the 300 ms timeout keeps completion quick and quiet.
kill -STOP "$DAEMON_PID"
t0=$(date +%s%N)
got=$(complete_line "jobq show ")
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$DAEMON_PID"
assert_eq "" "$got" "candidates from a hung jobqd"
((ms < 1000 * TIME_FACTOR)) || fail "completion against a hung jobqd took $ms ms"

# jobqd gone: no candidates, nothing on stderr, exit 0, quick.
stop_daemon
t0=$(date +%s%N)
got=$(complete_line "jobq show ")
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq "" "$got" "candidates with jobqd stopped"
[[ ! -s $WORK/complete.err ]] || fail "completion wrote to stderr: $(cat "$WORK/complete.err")"
((ms < 1000 * TIME_FACTOR)) || fail "completion with jobqd stopped took $ms ms"
rc=0
out=$("$JOBQ" __complete -- show "" 2>"$WORK/direct.err") || rc=$?
assert_eq 0 "$rc" "exit status of __complete with jobqd stopped"
assert_eq "" "$out" "__complete output with jobqd stopped"
[[ ! -s $WORK/direct.err ]] || fail "__complete wrote to stderr: $(cat "$WORK/direct.err")"
offers "jobq " enqueue status   # what needs no jobqd still works

# zsh and fish (packaging/install-deps.sh --test installs both).
if command -v zsh >/dev/null; then
  zsh -n "$SRC/completions/_jobq" || fail "zsh -n completions/_jobq"
  # The function's own logic, with the completion system stubbed: _describe
  # prints its candidates, compset -P moves a matched lead from PREFIX to
  # IPREFIX as zsh's does, and _files says what it would complete.
  zsh_complete() {  # the words after "jobq", the last being the one completed
    PATH="$WORK/bin:$PATH" zsh -f -c '
      _describe() { shift 4; print -l -- "${(@P)1}"; }
      _files() { print -r -- "files:$IPREFIX|$PREFIX"; }
      compdef() { :; }
      compset() {
        [[ $1 == -P ]] || return 1
        local m=${(M)PREFIX##${~2}}
        [[ -n $m ]] || return 1
        IPREFIX+=$m PREFIX=${PREFIX#$m}
      }
      source "$1"; shift
      words=(jobq "$@") CURRENT=$(( $# + 1 )) PREFIX=${@[-1]} IPREFIX=
      _jobq' zsh "$SRC/completions/_jobq" "$@"
  }
  got=$(zsh_complete app s)
  grep -q '^show:' <<<"$got" || fail "zsh: 'jobq app s' gave: $got"
  assert_eq "files:|$WORK/jobs" "$(zsh_complete enqueue --batch "$WORK/jobs")" "zsh: --batch FILE"
  assert_eq "files:|$WORK/jo" "$(zsh_complete --socket "$WORK/jo")" "zsh: --socket FILE"
  assert_eq "files:--socket=|$WORK/jobs." "$(zsh_complete "--socket=$WORK/jobs.")" "zsh: --socket=FILE"
  assert_eq "files:@|$WORK/jobs." "$(zsh_complete enqueue app --message "@$WORK/jobs.")" "zsh: --message @FILE"
else
  echo "note: zsh not installed, its script not checked"
fi
if command -v fish >/dev/null; then
  fish -n "$SRC/completions/jobq.fish" || fail "fish -n completions/jobq.fish"
  fish_complete() {  # a command line to complete
    PATH="$WORK/bin:$PATH" fish --no-config -c 'source $argv[1]; complete -C"$argv[2]"' \
      "$SRC/completions/jobq.fish" "$1"
  }
  got=$(fish_complete "jobq app s")
  grep -q '^show' <<<"$got" || fail "fish: 'jobq app s' gave: $got"
  assert_eq "$(printf '%s\n' "$WORK/jobs.ndjson" "$WORK/jobs2.ndjson")" \
    "$(fish_complete "jobq enqueue --batch $WORK/jobs" | sort)" "fish: --batch FILE"
  assert_eq "$WORK/jobs.ndjson" "$(fish_complete "jobq --socket $WORK/jobs.")" "fish: --socket FILE"
  assert_eq "--socket=$WORK/jobs.ndjson" "$(fish_complete "jobq --socket=$WORK/jobs.")" "fish: --socket=FILE"
  assert_eq "@$WORK/jobs.ndjson" "$(fish_complete "jobq enqueue app --message @$WORK/jobs.")" \
    "fish: --message @FILE"
else
  echo "note: fish not installed, its script not checked"
fi
echo "PASS"
