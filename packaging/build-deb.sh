#!/usr/bin/env bash
# Builds jobq's Debian package from this source tree as it is (uncommitted
# changes included): a copy in OUTDIR/src, packaging/debian/ becoming its
# debian/, built by `dpkg-buildpackage -b` (debhelper and CMake, flags from
# dpkg-buildflags). The package and its .changes, .buildinfo and -dbgsym
# package land in OUTDIR (default: build/deb).
#   packaging/build-deb.sh [OUTDIR]
# Needs debhelper and the Build-Depends of packaging/debian/control
# (`packaging/install-deps.sh --test` installs them). CMake uses ccache when
# CMAKE_CXX_COMPILER_LAUNCHER=ccache is in the environment; the copy's path
# stays the same from one build to the next, so that its cache is reused.
# Prints the package's path on the last line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/deb}

for tool in dpkg-buildpackage dh; do
  command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (apt-get install debhelper)" >&2; exit 1; }
done

# One version: CMake's project(VERSION) is jobq --version, and the
# changelog's newest entry must say the same (native package: no revision).
cmake_version=$(sed -nE 's/^project\(jobq VERSION ([0-9.]+).*/\1/p' "$root/CMakeLists.txt")
deb_version=$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)
if [[ -z $cmake_version || $cmake_version != "$deb_version" ]]; then
  echo "build-deb: CMakeLists.txt says version '$cmake_version', packaging/debian/changelog '$deb_version';" \
    "add a changelog entry (dch -v VERSION) when changing project(VERSION)" >&2
  exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src
rm -rf "$src"
rm -f "$out"/jobq_* "$out"/jobq-dbgsym_*
mkdir -p "$src"
# The files of the checkout (tracked, and new ones not ignored), or without
# git everything but build trees.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -C "$src" -xf -
else
  tar -C "$root" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -a "$root/packaging/debian" "$src/debian"

(cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") >&2
arch=$(dpkg --print-architecture)
deb=$out/jobq_${deb_version}_${arch}.deb
[[ -f $deb ]] || { echo "build-deb: no $deb after dpkg-buildpackage" >&2; exit 1; }
echo "$deb"
