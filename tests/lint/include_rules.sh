#!/usr/bin/env bash
# The dependency rule between lib/'s subsystems, checked on every quoted
# #include of lib/ and cli/. The rule is the block between the include-rules
# markers in ARCHITECTURE.md, one line per folder: "FOLDER: FOLDERS it may
# include besides itself". A file's folder is the longest rule folder its
# path is in. lib/'s headers are named from lib/ ("store/store.hpp", in lib/
# too); cli/'s own by their file name. Fails on an include the rule forbids,
# a lib header named without its folder, a folder with no rule, and a rule
# for a folder that does not exist.
#   tests/lint/include_rules.sh [SOURCE-DIR]
set -euo pipefail
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src"
declare -A allowed
while IFS= read -r line; do
  dir=${line%%:*}
  allowed[$dir]=" ${line#*:} "
done < <(sed -n '/<!-- include-rules -->/,/<!-- \/include-rules -->/p' ARCHITECTURE.md |
  grep -E '^(lib|cli)[a-z/]*:')
((${#allowed[@]} > 0)) || { echo "FAIL: no include rules found in ARCHITECTURE.md" >&2; exit 1; }
errors=0
err() { echo "FAIL: $*" >&2; errors=$((errors + 1)); }
for dir in "${!allowed[@]}"; do
  [[ -d $dir ]] || err "ARCHITECTURE.md has a rule for $dir, which does not exist"
done
folder_of() {  # a path -> the longest rule folder it is in, or ""
  local d=$1 best=""
  for dir in "${!allowed[@]}"; do
    if [[ $d == "$dir" || $d == "$dir"/* ]] && ((${#dir} > ${#best})); then best=$dir; fi
  done
  echo "$best"
}
checked=0
while IFS= read -r file; do
  here=$(dirname "$file")
  own=$(folder_of "$here")
  if [[ -z $own || $own != "$here" ]]; then
    err "$here has no include rule in ARCHITECTURE.md ($file)"
    continue
  fi
  while IFS= read -r inc; do
    if [[ $inc == */* && -f lib/$inc ]]; then
      target=$(dirname "lib/$inc")
    elif [[ $file != lib/* && -f $here/$inc ]]; then
      target=$here
    elif [[ -f lib/$inc || -n $(find lib -name "$(basename "$inc")" -print -quit) ]]; then
      err "$file: #include \"$inc\" names a lib header without its folder"
      continue
    else
      continue  # not ours (generated, or a system header in quotes)
    fi
    [[ $target == "$own" || ${allowed[$own]} == *" $target "* ]] ||
      err "$file includes $inc: $own may not use $target (ARCHITECTURE.md, include rules)"
    checked=$((checked + 1))
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(find lib cli -name '*.cpp' -o -name '*.hpp' | sort)
((checked > 0)) || err "no include was checked"
((errors == 0)) || exit 1
echo "include rules: $checked includes checked, all allowed"
