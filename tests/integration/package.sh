#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` with this build tree's configuration
# and binaries as they are, into a scratch directory. Checks the package lists the binaries, the units, the
# example configuration (a conffile), the manual pages and completions that
# exist in the source tree; its control data (Depends, Recommends, the
# maintainer scripts: the group jobq made, job data never deleted); that
# jobq and jobqd run from an extracted copy; and that `cmake --install`
# installs the same files (prefix /usr) or under its prefix (any other).
# Needs no Docker engine.
set -euo pipefail

: "${JOBQ:?path to the jobq binary}"
: "${JOBQD:?path to the jobqd binary}"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
for tool in cpack dpkg dpkg-deb; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed" >&2
    exit 125
  fi
done
BUILD=$(dirname "$JOBQ")
while [[ $BUILD != / && ! -f $BUILD/CPackConfig.cmake ]]; do BUILD=$(dirname "$BUILD"); done
[[ -f $BUILD/CPackConfig.cmake ]] || { echo "FAIL: no CPackConfig.cmake above $JOBQ" >&2; exit 1; }

WORK=$(mktemp -d /tmp/jobq-it-package.XXXXXX)
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 && -f $WORK/cpack.log ]]; then
    echo "---- cpack log ----" >&2
    tail -n 30 "$WORK/cpack.log" >&2
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

version=$("$JOBQ" --version | awk '{print $NF}')
arch=$(dpkg --print-architecture)
# CPACK_CMAKE_GENERATOR=Ninja: a generator without a "preinstall" step, so
# that cpack packages what is built instead of first building the whole tree
# again (minutes on 2 cores, or a failure while sources are being edited).
# The install scripts it runs are the same for every generator.
timeout 240 cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$WORK/out" -D CPACK_CMAKE_GENERATOR=Ninja \
  >"$WORK/cpack.log" 2>&1 || fail "cpack -G DEB failed"
deb=$WORK/out/jobq_${version}_${arch}.deb
[[ -f $deb ]] || fail "no $(basename "$deb") in $(ls "$WORK/out")"

# Its files.
dpkg -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$WORK/files"
expected=(/usr/bin/jobq /usr/sbin/jobqd /lib/systemd/system/jobqd.service /lib/systemd/system/jobqd.socket
  /etc/jobq/jobqd.conf)
for page in "$SRC"/man/*.[0-9]; do
  [[ -f $page ]] && expected+=("/usr/share/man/man${page##*.}/$(basename "$page")")
done
[[ -f $SRC/completions/jobq.bash ]] && expected+=(/usr/share/bash-completion/completions/jobq)
[[ -f $SRC/completions/_jobq ]] && expected+=(/usr/share/zsh/vendor-completions/_jobq)
[[ -f $SRC/completions/jobq.fish ]] && expected+=(/usr/share/fish/vendor_completions.d/jobq.fish)
for f in "${expected[@]}"; do
  grep -qxF "$f" "$WORK/files" || fail "the package lacks $f; it has: $(grep -v '/$' "$WORK/files" | tr '\n' ' ')"
done
unexpected=$(grep -v '/$' "$WORK/files" | grep -vE '^/(usr/(bin|sbin|share/(man|bash-completion|zsh|fish))|lib/systemd/system|etc/jobq)/' || true)
[[ -z $unexpected ]] || fail "the package has unexpected files: $unexpected"
echo "ok: the package has ${#expected[@]} files where they belong"

# Its control data.
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == jobq && $(field Version) == "$version" && $(field Architecture) == "$arch" ]] ||
  fail "control: $(dpkg-deb -f "$deb" Package Version Architecture)"
for dep in libsqlite3-0 libcurl4 libspdlog1.10 adduser; do
  field Depends | grep -q "\b$dep\b" || fail "Depends lacks $dep: $(field Depends)"
done
field Recommends | grep -q "docker.io | docker-ce" || fail "Recommends: $(field Recommends)"
dpkg-deb -e "$deb" "$WORK/control"
grep -qx /etc/jobq/jobqd.conf "$WORK/control/conffiles" || fail "jobqd.conf is not a conffile"
for script in postinst prerm postrm; do
  [[ -x $WORK/control/$script ]] || fail "no executable $script"
  sh -n "$WORK/control/$script" || fail "$script is not valid sh"
done
grep -q "addgroup --system jobq" "$WORK/control/postinst" || fail "postinst does not create the group jobq"
grep -q "getent group jobq" "$WORK/control/postinst" || fail "postinst does not check for the group first"
grep -q "systemctl daemon-reload" "$WORK/control/postinst" || fail "postinst does not reload systemd"
if grep -E "rm .*(/var/lib/jobq|\\\$state)" "$WORK/control/postinst" "$WORK/control/prerm" "$WORK/control/postrm" |
  grep -v '^[^:]*:\s*echo'; then
  fail "a maintainer script deletes job data"
fi
grep -q "/var/lib/jobq" "$WORK/control/postrm" || fail "postrm does not tell about the kept job data"
echo "ok: control data and maintainer scripts"

# Its contents work.
dpkg -x "$deb" "$WORK/root"
"$WORK/root/usr/bin/jobq" --version | grep -qx "jobq $version" || fail "jobq --version from the package"
"$WORK/root/usr/sbin/jobqd" --version | grep -qx "jobqd $version" || fail "jobqd --version from the package"
grep -qx "ExecStart=/usr/sbin/jobqd" "$WORK/root/lib/systemd/system/jobqd.service" ||
  fail "the packaged unit does not start /usr/sbin/jobqd"
cmp -s "$SRC/packaging/jobqd.service" "$WORK/root/lib/systemd/system/jobqd.service" || fail "packaged jobqd.service differs"
cmp -s "$SRC/packaging/jobqd.socket" "$WORK/root/lib/systemd/system/jobqd.socket" || fail "packaged jobqd.socket differs"
cmp -s "$SRC/packaging/jobqd.conf" "$WORK/root/etc/jobq/jobqd.conf" || fail "packaged jobqd.conf differs"
if grep -vE '^\s*(#|$)' "$WORK/root/etc/jobq/jobqd.conf"; then fail "the example configuration sets something"; fi
echo "ok: jobq and jobqd run from the extracted package"

# cmake --install: the same files with the prefix /usr; under another prefix,
# units and configuration under it too, ExecStart= following jobqd.
DESTDIR=$WORK/usr-install cmake --install "$BUILD" --prefix /usr >"$WORK/install.log" 2>&1 ||
  fail "cmake --install --prefix /usr: $(tail -n 5 "$WORK/install.log")"
(cd "$WORK/usr-install" && find . ! -type d | sed 's|^\./|/|' | sort) >"$WORK/installed"
grep -v '/$' "$WORK/files" | sort >"$WORK/packaged"
diff "$WORK/packaged" "$WORK/installed" >"$WORK/diff" || fail "cmake --install differs from the package: $(cat "$WORK/diff")"
DESTDIR=$WORK/opt-install cmake --install "$BUILD" --prefix /opt/jobq >"$WORK/install.log" 2>&1 ||
  fail "cmake --install --prefix /opt/jobq: $(tail -n 5 "$WORK/install.log")"
o=$WORK/opt-install/opt/jobq
[[ -x $o/bin/jobq && -x $o/sbin/jobqd && -f $o/etc/jobq/jobqd.conf && -f $o/lib/systemd/system/jobqd.socket ]] ||
  fail "cmake --install --prefix /opt/jobq: $(cd "$WORK/opt-install" && find . ! -type d | tr '\n' ' ')"
grep -qx "ExecStart=/opt/jobq/sbin/jobqd" "$o/lib/systemd/system/jobqd.service" ||
  fail "the unit installed under /opt/jobq does not start /opt/jobq/sbin/jobqd"
echo "ok: cmake --install"
echo "PASS"
