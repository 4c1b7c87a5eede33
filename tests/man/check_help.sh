#!/usr/bin/env bash
# check_help.sh MAN_DIR: the manual pages document what the binaries have.
# Environment: JOBQ and JOBQD, the binaries to ask (their --help).
#
# - jobq.1: every subcommand listed by `jobq --help`, `jobq SUB --help`,
#   `jobq SUB SUB2 --help`... has a subsection titled "jobq PATH" (for
#   "jobq app create": .SS "jobq app create"), and every option its --help
#   lists (long and short; --help itself aside) appears in that subsection;
#   the options of `jobq` itself appear anywhere in the page. Hidden
#   subcommands (not listed by --help, such as __complete) are exempt. A
#   subsection "jobq ..." that names no command is an error too.
# - jobqd.8: every option of `jobqd --help` appears under OPTIONS, and every
#   option described there exists.
# - jobqd.conf.5: every option of jobqd but config, help and version is a key
#   under KEYS ("key = ..."), and every key described there exists.
#
# The pages are rendered to plain text first (groff escapes such as \-\-xyz
# become --xyz). Fails naming everything missing; exits 125 (skipped) when
# groff is not installed.
set -euo pipefail

MAN=${1:?usage: check_help.sh MAN_DIR}
: "${JOBQ:?path to the jobq binary}"
: "${JOBQD:?path to the jobqd binary}"
if ! command -v groff >/dev/null; then
  echo "SKIP: groff is not installed (apt-get install groff-base)"
  exit 125
fi

WORK=$(mktemp -d /tmp/jobq-man-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
missing=()
miss() { missing+=("$*"); }

# render PAGE: plain ASCII text, long lines, no hyphenation, no overstriking.
render() {
  LC_ALL=C groff -man -Tascii -P-c -P-b -P-u -rLL=250n -rHY=0 "$1" 2>/dev/null
}

# section FILE TITLE: the text under the heading TITLE (a .SH or .SS line,
# indented less than body text), up to the next heading, as one line per
# paragraph line; a line ending in '-' is joined to the next without a space.
section() {
  awk -v title="$2" '
    function heading(line) { return line ~ /[^ ]/ && line !~ /^       / }  # no intervals: mawk
    {
      if (heading($0)) {
        t = $0; sub(/^ +/, "", t); sub(/ +$/, "", t)
        inside = (t == title); next
      }
      if (inside) print
    }' "$1" | awk '{ if (buf ~ /-$/) { sub(/^ +/, ""); buf = buf $0 } else { if (NR > 1) print buf; buf = $0 } } END { if (NR > 0) print buf }'
}

# has TEXT-FILE OPTION: the option appears as a word of its own.
has() {
  grep -Eq -- "(^|[^A-Za-z0-9_-])$2([^A-Za-z0-9_-]|\$)" "$1"
}

# help_items: reads CLI11's --help on stdin; prints "option NAME" for every
# name of every option (-h and --help each) and "subcommand NAME" for every
# subcommand. Sections are "Name:" lines (Options:, Subcommands:,
# Positionals: in CLI11 2.x; OPTIONS:, SUBCOMMANDS:, POSITIONALS: before;
# or a group's own name); their entries are indented two spaces.
help_items() {
  awk '
    /^[A-Za-z][A-Za-z0-9 _-]*:$/ { section = tolower($0); next }
    /^[^ ]/ { section = ""; next }
    /^  [^ ]/ {
      if (section == "" || section ~ /^positionals?:$/) next
      if ($1 ~ /^-/) {
        n = split($1, names, ",")
        for (i = 1; i <= n; i++) if (names[i] ~ /^-/) print "option " names[i]
      } else if (section ~ /^subcommands?:$/ || section !~ /^options?:$/) {
        print "subcommand " $1
      }
    }'
}

# ---- jobq(1) ------------------------------------------------------------------------

page=$MAN/jobq.1
[[ -f $page ]] || { echo "FAIL: no $page"; exit 1; }
render "$page" >"$WORK/jobq.txt"
tr -s ' \n' '  ' <"$WORK/jobq.txt" >"$WORK/jobq.flat"
commands=()   # every command path checked, e.g. "app create"
queue=("")
while ((${#queue[@]} > 0)); do
  path=${queue[0]}
  queue=("${queue[@]:1}")
  read -r -a words <<<"$path"
  if ! "$JOBQ" "${words[@]}" --help >"$WORK/help" 2>&1; then
    echo "FAIL: 'jobq $path --help' failed:"
    cat "$WORK/help"
    exit 1
  fi
  help_items <"$WORK/help" >"$WORK/items"
  subs=$(awk '$1 == "subcommand" { print $2 }' "$WORK/items")
  opts=$(awk '$1 == "option" { print $2 }' "$WORK/items")
  if [[ -z $path ]]; then
    [[ -n $subs ]] || { echo "FAIL: found no subcommand in 'jobq --help' (has its format changed?)"; cat "$WORK/help"; exit 1; }
    for opt in $opts; do
      has "$WORK/jobq.flat" "$opt" || miss "jobq.1: the option $opt of jobq itself (GLOBAL OPTIONS)"
    done
  else
    commands+=("$path")
    section "$WORK/jobq.txt" "jobq $path" >"$WORK/block"
    if [[ -n $subs ]]; then
      # A command of commands (jobq app): named in the page; its own options
      # beyond --help need a subsection of their own.
      grep -Fq "jobq $path " "$WORK/jobq.flat" || miss "jobq.1: the command 'jobq $path'"
      for opt in $opts; do
        [[ $opt == -h || $opt == --help ]] && continue
        has "$WORK/block" "$opt" || miss "jobq.1: the option $opt of 'jobq $path' (in a subsection \"jobq $path\")"
      done
    elif [[ ! -s $WORK/block ]]; then
      miss "jobq.1: the subcommand 'jobq $path' (a subsection .SS \"jobq $path\" with its synopsis and options)"
    else
      for opt in $opts; do
        [[ $opt == -h || $opt == --help ]] && continue
        has "$WORK/block" "$opt" || miss "jobq.1: the option $opt of 'jobq $path' (in its subsection \"jobq $path\")"
      done
    fi
  fi
  for sub in $subs; do
    [[ $sub == __* ]] && continue  # hidden (never listed anyway)
    queue+=("${path:+$path }$sub")
  done
done
# Subsections naming a command that does not exist (any more).
while IFS= read -r title; do
  known=0
  for c in "${commands[@]}"; do [[ "jobq $c" == "$title" ]] && known=1; done
  ((known)) || miss "jobq.1: the subsection \"$title\" names no command of 'jobq --help'"
done < <(grep -E '^ {0,6}jobq( [a-z_-]+)+ *$' "$WORK/jobq.txt" | sed -E 's/^ +//; s/ +$//')
echo "jobq.1: checked ${#commands[@]} commands"

# ---- jobqd(8) and jobqd.conf(5) -----------------------------------------------------------

"$JOBQD" --help >"$WORK/help" 2>&1 || { echo "FAIL: 'jobqd --help' failed:"; cat "$WORK/help"; exit 1; }
opts=$(help_items <"$WORK/help" | awk '$1 == "option" { print $2 }')
(($(wc -w <<<"$opts") >= 5)) || { echo "FAIL: found few options in 'jobqd --help' (has its format changed?)"; cat "$WORK/help"; exit 1; }

page=$MAN/jobqd.8
[[ -f $page ]] || { echo "FAIL: no $page"; exit 1; }
render "$page" >"$WORK/jobqd.txt"
section "$WORK/jobqd.txt" OPTIONS >"$WORK/block"
[[ -s $WORK/block ]] || miss "jobqd.8: a section OPTIONS"
for opt in $opts; do
  has "$WORK/block" "$opt" || miss "jobqd.8: the option $opt (under OPTIONS)"
done
# Options described under OPTIONS (the tags of its list) that jobqd lacks.
while IFS= read -r tag; do
  for name in $(tr ',' ' ' <<<"$tag"); do
    [[ $name == -* ]] || continue
    grep -qxF -- "$name" <<<"$opts" || miss "jobqd.8: OPTIONS describes $name, which 'jobqd --help' does not list"
  done
done < <(grep -E '^ {7}-' "$WORK/block" | sed -E 's/^ +//; s/ [A-Z].*$//')

page=$MAN/jobqd.conf.5
[[ -f $page ]] || { echo "FAIL: no $page"; exit 1; }
render "$page" >"$WORK/conf.txt"
section "$WORK/conf.txt" KEYS >"$WORK/block"
[[ -s $WORK/block ]] || miss "jobqd.conf.5: a section KEYS"
keys=()
for opt in $opts; do
  case $opt in --config | --help | --version | -[!-]*) continue ;; esac
  key=${opt#--}
  key=${key//-/_}
  keys+=("$key")
  grep -Eq "^ {7}$key = " "$WORK/block" || miss "jobqd.conf.5: the key $key (a line \"$key = ...\" under KEYS)"
done
while IFS= read -r key; do
  printf '%s\n' "${keys[@]}" | grep -qxF -- "$key" ||
    miss "jobqd.conf.5: KEYS describes $key, which is no option of 'jobqd --help'"
done < <(grep -E '^ {7}[a-z_]+ = ' "$WORK/block" | sed -E 's/^ +//; s/ = .*$//')
echo "jobqd.8, jobqd.conf.5: checked $(wc -w <<<"$opts") options, ${#keys[@]} keys"

if ((${#missing[@]} > 0)); then
  echo "FAIL: the manual pages in $MAN do not document:"
  printf '  %s\n' "${missing[@]}"
  exit 1
fi
echo "ok: every command, option and key is documented"
