#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# while on a copy of its seed corpus. A crash fails the run and leaves its
# input in build-fuzz/crashes/ (turn it into a regression test and a seed).
#   packaging/run-fuzz.sh [SECONDS per target]     default 60
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
command -v clang++ >/dev/null || { echo "jobq: run-fuzz needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
build=$root/build-fuzz
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DJOBQ_FUZZ=ON -DJOBQ_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(fuzz_request fuzz_log_demux fuzz_inspect fuzz_cron)
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
mkdir -p "$build/crashes"
for t in "${targets[@]}"; do
  work=$build/corpus/$t
  mkdir -p "$work"
  echo "== $t: ${seconds}s"
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/crashes/$t-" -print_final_stats=1 "$work" "$root/tests/fuzz/corpus/$t" 2>"$build/$t.log" ||
    { tail -n 40 "$build/$t.log" >&2; echo "FAIL: $t found a crash (see $build/crashes)" >&2; exit 1; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/$t.log" | tr '\n' ' '
  echo
done
echo "fuzzing: ${#targets[@]} passed, 0 failed"
