#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages), starts dockerd
# when none answers, builds jobq twice (warnings as errors; then ASan+UBSan),
# and runs the whole suite (unit tests, and integration tests against the real
# engine with a locally built image) in each build.
# Before that it fuzzes the request parser, the log demultiplexer, the
# inspect parser and the cron parser for JOBQ_FUZZ_SECONDS each (default 20;
# 0 skips).
# The sanitizer build (line tables only, -g1: its reports still name files
# and lines) leaves out the tests of text and packaging (man pages,
# shell completions; the package test skips itself there), the
# benchmark's tools and smoke runs (their numbers mean nothing there; jobqd under load
# is still run by kill_loop, abusive_clients and enqueue_batch), the
# swarm tests but swarm_spine (which runs the swarm runtime's code there;
# the others bring up private swarms for minutes, to show what the plain
# build already shows of the same code), warm_kill_loop (warm_crash runs
# the same recovery there) and exit_codes (Docker's codes read, no code of
# jobqd's the others do not run); its kill_loop is half size (30 jobs, 5
# kills). It all keeps CI under an hour on 2 cores. Each phase
# prints when it starts.
#   packaging/run-tests.sh            everything
#   JOBQ_TEST_SANITIZE=0 ...          skip the sanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

"$root/packaging/install-deps.sh" --test

dockerd_pid=$("$root/packaging/ensure-dockerd.sh")
# The package test's Debian base (debootstrap: minutes, mostly waiting on
# the mirror) is made meanwhile, when it can be; the test waits for it, or
# makes it itself if this failed.
base_pid=
if [[ $(id -u) == 0 ]] && command -v debootstrap >/dev/null; then
  setsid "$root/packaging/debian-base.sh" "${TMPDIR:-/tmp}/jobq-debian-base.$$.log" >/dev/null 2>&1 </dev/null &
  base_pid=$!
fi
stop_dockerd() {
  # Only what this script started, by pid.
  if [[ -n $base_pid ]]; then kill -- -"$base_pid" 2>/dev/null || true; fi
  if [[ -n $dockerd_pid ]]; then
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap stop_dockerd EXIT

jobs=$(nproc)
export JOBQ_REQUIRE_DOCKER=1
began=$SECONDS
phase() { echo "== $* (at $((SECONDS - began)) s)"; }

run_suite() {  # build-dir ctest-exclude-regex cmake-options...
  local dir=$1 exclude=$2
  shift 2
  # Tests on explicitly: packaging/quickstart.sh configures build/ without
  # them, and a reused cache would otherwise keep them off.
  cmake -S "$root" -B "$dir" -DJOBQ_WARNINGS_AS_ERRORS=ON -DJOBQ_BUILD_TESTS=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  phase "built $dir"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600 --no-tests=error ${exclude:+-E "$exclude"})
}

if [[ ${JOBQ_FUZZ_SECONDS:-20} != 0 ]]; then
  phase "fuzz (${JOBQ_FUZZ_SECONDS:-20}s per target)"
  "$root/packaging/run-fuzz.sh" "${JOBQ_FUZZ_SECONDS:-20}"
fi

phase "build and test (warnings as errors)"
# Line tables only (-g1): a crash's backtrace still names files and lines,
# and each file compiles about a fifth faster than with full -g.
run_suite "$root/build" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"

if [[ ${JOBQ_TEST_SANITIZE:-1} == 1 ]]; then
  phase "build and test with AddressSanitizer and UndefinedBehaviorSanitizer"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    JOBS=30 KILLS=5 \
    run_suite "$root/build-asan" \
    '^(man\.|integration\.completions$|integration\.package$|integration\.swarm_(kill_loop|placement|engine_restart|tls)$|integration\.(warm_kill_loop|exit_codes)$)' \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DJOBQ_SANITIZE=ON -DJOBQ_BENCH=OFF
fi
phase "done"
