#!/usr/bin/env bash
# check_render.sh PAGE...: each manual page renders without a single warning
# from groff (all warnings on, -ww) and, when man-db is installed, from
# `man --warnings -l`. Exits 125 (skipped) when groff is not installed
# (packaging/install-deps.sh --test installs groff-base).
set -euo pipefail

(($# > 0)) || { echo "usage: $0 PAGE..." >&2; exit 64; }
if ! command -v groff >/dev/null; then
  echo "SKIP: groff is not installed (apt-get install groff-base)"
  exit 125
fi

failed=0
check() {  # what command...: fails when the command fails or writes to stderr
  local what=$1 err rc=0
  shift
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  if [[ $rc -ne 0 || -n $err ]]; then
    echo "FAIL: $what (exit $rc):"
    printf '%s\n' "$err"
    failed=1
  else
    echo "ok: $what"
  fi
}

for page in "$@"; do
  [[ -f $page ]] || { echo "FAIL: no such page: $page"; failed=1; continue; }
  check "groff -man -ww -z -Tutf8 $page" groff -man -ww -z -Tutf8 "$page"
  # Narrow terminals too: a line that cannot be broken warns there first.
  check "groff -man -ww -z -Tutf8 -rLL=60n $page" groff -man -ww -z -Tutf8 -rLL=60n "$page"
  if command -v man >/dev/null; then
    check "man --warnings -l $page" \
      env LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat MAN_DISABLE_SECCOMP=1 man --warnings -l "$page"
  fi
done
exit $failed
