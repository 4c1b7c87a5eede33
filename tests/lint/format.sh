#!/usr/bin/env bash
# Every C++ file in git is as the project's .clang-format writes it.
# Exit 125 (skipped) without clang-format; packaging/install-deps.sh --test
# installs it.
#   tests/lint/format.sh [SOURCE-DIR]
set -euo pipefail
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src"
command -v clang-format >/dev/null || { echo "SKIP: clang-format is not installed"; exit 125; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
else
  mapfile -t files < <(find cli daemon lib tests -name '*.cpp' -o -name '*.hpp')
fi
((${#files[@]} > 0)) || { echo "FAIL: no C++ file found" >&2; exit 1; }
clang-format --dry-run --Werror "${files[@]}" >/dev/null 2>&1 && bad=() || {
  bad=()  # which ones
  for f in "${files[@]}"; do clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f"); done
}
if ((${#bad[@]})); then
  echo "FAIL: not formatted (clang-format -i ${bad[*]}):" >&2
  for f in "${bad[@]}"; do clang-format "$f" | diff -u "$f" - | head -n 20 >&2 || true; done
  exit 1
fi
echo "format: ${#files[@]} files as .clang-format writes them"
