#!/usr/bin/env bash
# Makes today's Debian 12 base system for the package test (debootstrap
# --variant=minbase bookworm, then its package lists, as a tarball in
# JOBQ_TEST_CACHE, default /var/cache/jobq-test), unless it is already
# there; prints its path. One at a time (flock): the test command starts it
# early in the background, and the package test waits for it or makes it.
# Needs root, debootstrap and the mirror (JOBQ_DEBIAN_MIRROR).
#   packaging/debian-base.sh [LOG]
set -euo pipefail
MIRROR=${JOBQ_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${JOBQ_TEST_CACHE:-/var/cache/jobq-test}
log=${1:-/dev/stderr}
mkdir -p "$CACHE/apt-archives"
base=$CACHE/bookworm-minbase-$(date -u +%Y%m%d).tar
(
  flock 9
  if [[ ! -f $base ]]; then
    start=$SECONDS
    work=$(mktemp -d /tmp/jobq-debian-base.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    echo "making $base (debootstrap --variant=minbase bookworm)" >>"$log"
    debootstrap --variant=minbase bookworm "$work/base" "$MIRROR" >>"$log" 2>&1 ||
      { echo "debootstrap failed" >&2; exit 1; }
    chroot "$work/base" apt-get update -q >>"$log" 2>&1 ||
      { echo "apt-get update in the new base failed" >&2; exit 1; }
    chroot "$work/base" apt-get clean
    tar -C "$work/base" --numeric-owner -cf "$base.tmp" .
    mv "$base.tmp" "$base"
    find "$CACHE" -maxdepth 1 -name 'bookworm-minbase-*.tar' ! -path "$base" -delete
    find "$CACHE/apt-archives" -name '*.deb' -mtime +30 -delete
    echo "made the base in $((SECONDS - start)) s" >>"$log"
  fi
) 9>"$CACHE/lock"
echo "$base"
