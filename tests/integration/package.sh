#!/usr/bin/env bash
# The Debian package, as a Debian 12 user gets it:
# 1. `cmake --install` of this build tree puts the units and the example
#    configuration where systemd and jobqd look (prefix /usr), or under any
#    other prefix, ExecStart= following jobqd;
# 2. packaging/build-deb.sh builds the package (dpkg-buildpackage, debhelper)
#    and lintian reports no error and no warning; its files, control data
#    and maintainer scripts are as promised, and its binaries carry the
#    hardening of dpkg-buildflags;
# 3. it installs with `apt-get install ./jobq_*.deb` into a clean Debian 12
#    (debootstrap --variant=minbase): jobq and jobqd run, every library is
#    found, the group jobq exists, the conffile, manual pages, completions
#    and units are there and the units enabled; `dpkg -r` keeps the conffile,
#    the job data and the group; `dpkg -P` removes the conffile and the
#    units' enablement and still keeps the job data and the group.
# Step 3 is skipped (exit 125) when not root or when the Debian mirror
# cannot be reached. The whole test is skipped in the sanitizer build: the
# package is built with Debian's flags, not the build tree's, so the plain
# build's run covers it.
# The chroot's base is cached in /var/cache/jobq-test (JOBQ_TEST_CACHE): one
# tarball a day, made by debootstrap and apt-get update (older ones are
# removed), and apt's downloaded packages (kept 30 days). Needs no Docker
# engine.
set -euo pipefail

: "${JOBQ:?path to the jobq binary}"
: "${JOBQD:?path to the jobqd binary}"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MIRROR=${JOBQ_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${JOBQ_TEST_CACHE:-/var/cache/jobq-test}
skip() {
  echo "SKIP: $*" >&2
  exit 125
}
if [[ ${JOBQ_SANITIZED:-0} == 1 ]]; then
  skip "the package is built with dpkg-buildflags, not this sanitizer build's flags; the plain build's run tests it"
fi
for tool in dpkg dpkg-deb dpkg-buildpackage dh lintian readelf; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (packaging/install-deps.sh --test installs it)"
done
BUILD=$(dirname "$JOBQ")
while [[ $BUILD != / && ! -f $BUILD/CMakeCache.txt ]]; do BUILD=$(dirname "$BUILD"); done
[[ -f $BUILD/CMakeCache.txt ]] || { echo "FAIL: no CMakeCache.txt above $JOBQ" >&2; exit 1; }

WORK=$(mktemp -d /tmp/jobq-it-package.XXXXXX)
ROOT=$WORK/root
MOUNTED=()
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  local m
  for m in "${MOUNTED[@]}"; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if [[ $rc -ne 0 && $rc -ne 125 ]]; then
    for f in "$WORK"/*.log; do
      [[ -f $f ]] || continue
      echo "---- $(basename "$f") ----" >&2
      tail -n 30 "$f" >&2
    done
  fi
  # Never remove through a mount that is still there.
  if ! grep -qF " $WORK/" /proc/mounts; then rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT

version=$("$JOBQ" --version | awk '{print $NF}')
arch=$(dpkg --print-architecture)

# 1. cmake --install: with the prefix /usr, units and configuration where
#    systemd and jobqd look; under another prefix, under it too.
DESTDIR=$WORK/usr-install cmake --install "$BUILD" --prefix /usr >"$WORK/install.log" 2>&1 ||
  fail "cmake --install --prefix /usr: $(tail -n 5 "$WORK/install.log")"
(cd "$WORK/usr-install" && find . ! -type d | sed 's|^\./|/|' | sort) >"$WORK/installed"
DESTDIR=$WORK/opt-install cmake --install "$BUILD" --prefix /opt/jobq >"$WORK/install.log" 2>&1 ||
  fail "cmake --install --prefix /opt/jobq: $(tail -n 5 "$WORK/install.log")"
o=$WORK/opt-install/opt/jobq
[[ -x $o/bin/jobq && -x $o/sbin/jobqd && -f $o/etc/jobq/jobqd.conf && -f $o/lib/systemd/system/jobqd.socket ]] ||
  fail "cmake --install --prefix /opt/jobq: $(cd "$WORK/opt-install" && find . ! -type d | tr '\n' ' ')"
grep -qx "ExecStart=/opt/jobq/sbin/jobqd" "$o/lib/systemd/system/jobqd.service" ||
  fail "the unit installed under /opt/jobq does not start /opt/jobq/sbin/jobqd"
echo "ok: cmake --install"

# 2. The package, built as Debian builds packages; ccache keeps a rebuild
#    quick (the copy it builds from is always at the same path).
# Its own cache directory unless one is set: debhelper points HOME into the
# copy it builds, which is made anew each time.
if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_DIR=${CCACHE_DIR:-$BUILD/deb-ccache}
fi
# noddebs: no -dbgsym package (compressing its debug data takes longer than
# building jobq from ccache); and with no -dbgsym package to put it in, no
# debug data at all (DEB_CXXFLAGS_STRIP=-g: each file compiles about a third
# faster). The package is otherwise the same, hardening included.
start=$SECONDS
DEB_BUILD_OPTIONS="noddebs ${DEB_BUILD_OPTIONS:-}" DEB_CXXFLAGS_STRIP="-g ${DEB_CXXFLAGS_STRIP:-}" \
  "$SRC/packaging/build-deb.sh" "$BUILD/deb" >"$WORK/build-deb.out" 2>"$WORK/build-deb.log" ||
  fail "packaging/build-deb.sh failed"
deb=$(tail -n 1 "$WORK/build-deb.out")
[[ $deb == "$BUILD/deb/jobq_${version}_${arch}.deb" && -f $deb ]] || fail "build-deb.sh made '$deb', not jobq_${version}_${arch}.deb"
echo "ok: built $(basename "$deb") in $((SECONDS - start)) s"

# lintian: no error, no warning, and no override hiding one.
rc=0
lintian --fail-on error,warning --tag-display-limit 0 "$deb" >"$WORK/lintian.log" 2>&1 || rc=$?
if grep -E '^[EW]: ' "$WORK/lintian.log"; then fail "lintian reports errors or warnings (above)"; fi
[[ $rc == 0 ]] || fail "lintian exited $rc: $(cat "$WORK/lintian.log")"
if ls "$SRC"/packaging/debian/*lintian-overrides* 2>/dev/null; then fail "lintian overrides exist; fix what they hide instead"; fi
echo "ok: lintian: no error or warning"

# Its files.
dpkg -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' | grep -v '/$' | sort >"$WORK/files"
expected=(/usr/bin/jobq /usr/sbin/jobqd /lib/systemd/system/jobqd.service /lib/systemd/system/jobqd.socket
  /etc/jobq/jobqd.conf /usr/share/doc/jobq/copyright /usr/share/doc/jobq/changelog.gz
  /usr/libexec/jobq/jobq-warm-static)
for page in "$SRC"/man/*.[0-9]; do
  [[ -f $page ]] && expected+=("/usr/share/man/man${page##*.}/$(basename "$page").gz")
done
[[ -f $SRC/completions/jobq.bash ]] && expected+=(/usr/share/bash-completion/completions/jobq)
[[ -f $SRC/completions/_jobq ]] && expected+=(/usr/share/zsh/vendor-completions/_jobq)
[[ -f $SRC/completions/jobq.fish ]] && expected+=(/usr/share/fish/vendor_completions.d/jobq.fish)
for f in "${expected[@]}"; do
  grep -qxF "$f" "$WORK/files" || fail "the package lacks $f; it has: $(tr '\n' ' ' <"$WORK/files")"
done
[[ $(wc -l <"$WORK/files") == "${#expected[@]}" ]] || fail "the package has unexpected files: $(
  printf '%s\n' "${expected[@]}" | sort | comm -13 - "$WORK/files" | tr '\n' ' ')"
# The same files as `cmake --install --prefix /usr`, less what debhelper adds
# (the manual pages compressed, the changelog and copyright).
sed -E 's|^(/usr/share/man/.*)\.gz$|\1|' "$WORK/files" | grep -v '^/usr/share/doc/jobq/' | sort >"$WORK/packaged"
diff "$WORK/packaged" "$WORK/installed" >"$WORK/diff" || fail "cmake --install differs from the package: $(cat "$WORK/diff")"
echo "ok: the package has ${#expected[@]} files where they belong"

# Its control data.
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == jobq && $(field Version) == "$version" && $(field Architecture) == "$arch" ]] ||
  fail "control: $(dpkg-deb -f "$deb" Package Version Architecture)"
for dep in libc6 'libstdc\+\+6' libsqlite3-0 libcurl4 'libspdlog1\.10' libfmt9 libcctz2 tzdata adduser; do
  field Depends | grep -qE "(^|, )${dep}[-a-z0-9]*( |,|$)" || fail "Depends lacks $dep: $(field Depends)"
done
field Recommends | grep -q "docker.io | docker-ce" || fail "Recommends: $(field Recommends)"
dpkg-deb -e "$deb" "$WORK/control"
grep -qx /etc/jobq/jobqd.conf "$WORK/control/conffiles" || fail "jobqd.conf is not a conffile"
for script in postinst prerm postrm; do
  [[ -x $WORK/control/$script ]] || fail "no executable $script"
  sh -n "$WORK/control/$script" || fail "$script is not valid sh"
done
if grep -nE '(^|[^-])systemctl +(start|stop|restart|try-restart|enable|disable)' "$WORK/control/"{postinst,prerm,postrm}; then
  fail "a maintainer script calls systemctl itself instead of deb-systemd-helper/deb-systemd-invoke"
fi
grep -q "deb-systemd-helper enable 'jobqd.socket'" "$WORK/control/postinst" || fail "postinst does not enable jobqd.socket"
grep -q "deb-systemd-invoke stop 'jobqd.socket'" "$WORK/control/prerm" || fail "prerm does not stop jobqd.socket"
grep -q "deb-systemd-helper purge 'jobqd.service'" "$WORK/control/postrm" || fail "postrm does not purge jobqd.service's state"
# An upgrade restarts jobqd, never its socket.
grep -q "deb-systemd-invoke \$_dh_action 'jobqd.service'" "$WORK/control/postinst" || fail "an upgrade does not restart jobqd.service"
if grep -E "(restart|_dh_action).*jobqd\.socket" "$WORK/control/postinst"; then fail "an upgrade restarts jobqd.socket"; fi
if [[ -f $WORK/control/preinst ]] && grep -q "jobqd.socket" "$WORK/control/preinst"; then fail "preinst stops jobqd.socket"; fi
# Job data is never deleted.
if grep -nE "rm .*(/var/lib/jobq|\\\$state)" "$WORK/control/"{postinst,prerm,postrm} | grep -v ':\s*echo'; then
  fail "a maintainer script deletes job data"
fi
echo "ok: control data and maintainer scripts"

# Its binaries: built with dpkg-buildflags (hardening=+all): PIE, full RELRO,
# stack protector, fortified calls.
dpkg -x "$deb" "$WORK/x"
for bin in usr/bin/jobq usr/sbin/jobqd; do
  readelf -hldW --dyn-syms "$WORK/x/$bin" >"$WORK/readelf.out"
  grep -qE 'Type:\s+DYN' "$WORK/readelf.out" || fail "$bin is not PIE"
  grep -q GNU_RELRO "$WORK/readelf.out" || fail "$bin has no RELRO"
  grep -qE 'BIND_NOW|FLAGS.*\bNOW\b' "$WORK/readelf.out" || fail "$bin is not linked with -z now"
  grep -q '__stack_chk_fail' "$WORK/readelf.out" || fail "$bin has no stack protector"
  grep -qE '__[a-z]+_chk\b' "$WORK/readelf.out" || fail "$bin calls no fortified function (_FORTIFY_SOURCE)"
done
"$WORK/x/usr/bin/jobq" --version | grep -qx "jobq $version" || fail "jobq --version from the package"
grep -qx "ExecStart=/usr/sbin/jobqd" "$WORK/x/lib/systemd/system/jobqd.service" ||
  fail "the packaged unit does not start /usr/sbin/jobqd"
cmp -s "$SRC/packaging/jobqd.service" "$WORK/x/lib/systemd/system/jobqd.service" || fail "packaged jobqd.service differs"
cmp -s "$SRC/packaging/jobqd.socket" "$WORK/x/lib/systemd/system/jobqd.socket" || fail "packaged jobqd.socket differs"
cmp -s "$SRC/packaging/jobqd.conf" "$WORK/x/etc/jobq/jobqd.conf" || fail "packaged jobqd.conf differs"
if grep -vE '^\s*(#|$)' "$WORK/x/etc/jobq/jobqd.conf"; then fail "the example configuration sets something"; fi
echo "ok: the binaries are hardened; units and configuration as in packaging/"

# 3. Installed into a clean Debian 12.
[[ $(id -u) == 0 ]] || skip "not root: debootstrap and chroot need root (the package was built and is lintian-clean)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (packaging/install-deps.sh --test installs it)"
curl -fsS --max-time 15 -o /dev/null "$MIRROR/dists/bookworm/InRelease" 2>"$WORK/mirror.log" ||
  skip "the Debian mirror $MIRROR cannot be reached: $(cat "$WORK/mirror.log") (the package was built and is lintian-clean)"

# The base system: today's tarball (packaging/debian-base.sh makes it when
# missing; the test command starts that early, in the background).
base=$(JOBQ_TEST_CACHE=$CACHE JOBQ_DEBIAN_MIRROR=$MIRROR "$SRC/packaging/debian-base.sh" \
  "$WORK/debootstrap.log") || fail "packaging/debian-base.sh failed (see debootstrap.log)"
mkdir "$ROOT"
tar -C "$ROOT" --numeric-owner -xf "$base"
mount -t proc proc "$ROOT/proc"
MOUNTED+=("$ROOT/proc")
in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
# Nothing is started in the chroot (there is no systemd in it anyway).
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod +x "$ROOT/usr/sbin/policy-rc.d"
cp "$CACHE/apt-archives/"*.deb "$ROOT/var/cache/apt/archives/" 2>/dev/null || true
cp "$deb" "$ROOT/tmp/"
in_root apt-get update -q >"$WORK/apt.log" 2>&1 || fail "apt-get update in the chroot"
in_root sh -c "cd /tmp && apt-get install -y -q --no-install-recommends ./$(basename "$deb")" >>"$WORK/apt.log" 2>&1 ||
  fail "apt-get install ./$(basename "$deb") in a clean Debian 12"
cp -n "$ROOT/var/cache/apt/archives/"*.deb "$CACHE/apt-archives/" 2>/dev/null || true
[[ $(in_root dpkg-query -W -f '${Status}' jobq) == "install ok installed" ]] || fail "jobq is not installed"

in_root jobq --version | grep -qx "jobq $version" || fail "jobq --version in the chroot: $(in_root jobq --version 2>&1)"
in_root jobqd --version | grep -qx "jobqd $version" || fail "jobqd --version in the chroot: $(in_root jobqd --version 2>&1)"
for bin in /usr/bin/jobq /usr/sbin/jobqd; do
  if in_root ldd "$bin" | grep "not found"; then fail "$bin misses libraries the package does not depend on"; fi
done
in_root getent group jobq >/dev/null || fail "the group jobq was not created"
in_root dpkg-query -W -f '${Conffiles}\n' jobq | grep -q '^ /etc/jobq/jobqd.conf ' || fail "jobqd.conf is not a conffile"
cmp -s "$SRC/packaging/jobqd.conf" "$ROOT/etc/jobq/jobqd.conf" || fail "the installed jobqd.conf differs"
for f in "${expected[@]}"; do [[ -e $ROOT$f ]] || fail "$f is not installed"; done
in_root zcat /usr/share/man/man8/jobqd.8.gz >"$WORK/jobqd.8" || fail "zcat jobqd.8.gz"
grep -q '^\.TH JOBQD 8' "$WORK/jobqd.8" || fail "jobqd.8.gz is not jobqd's manual page"
for link in sockets.target.wants/jobqd.socket multi-user.target.wants/jobqd.service; do
  [[ -L $ROOT/etc/systemd/system/$link ]] || fail "$link was not enabled"
done
echo "ok: installed in a clean Debian 12 with apt-get: runs, group, conffile, manual pages, units enabled"

# Job data, and a changed configuration: removal keeps both.
mkdir -p "$ROOT/var/lib/jobq"
echo "jobs" >"$ROOT/var/lib/jobq/jobq.db"
echo "max_running = 2" >>"$ROOT/etc/jobq/jobqd.conf"
in_root dpkg -r jobq >"$WORK/remove.log" 2>&1 || fail "dpkg -r jobq"
[[ $(in_root dpkg-query -W -f '${Status}' jobq) == "deinstall ok config-files" ]] || fail "after dpkg -r: not config-files"
[[ ! -e $ROOT/usr/sbin/jobqd && ! -e $ROOT/usr/bin/jobq && ! -e $ROOT/lib/systemd/system/jobqd.service ]] ||
  fail "dpkg -r left the binaries or units"
grep -qx "max_running = 2" "$ROOT/etc/jobq/jobqd.conf" || fail "dpkg -r did not keep the changed jobqd.conf"
[[ $(cat "$ROOT/var/lib/jobq/jobq.db") == jobs ]] || fail "dpkg -r touched the job data"
in_root getent group jobq >/dev/null || fail "dpkg -r removed the group jobq"
echo "ok: dpkg -r keeps the configuration, the job data and the group"

in_root dpkg -P jobq >"$WORK/purge.log" 2>&1 || fail "dpkg -P jobq"
status=$(in_root dpkg-query -W -f '${Status}' jobq 2>/dev/null || true)
[[ -z $status || $status == *not-installed ]] || fail "after dpkg -P jobq is '$status'"
[[ ! -e $ROOT/etc/jobq/jobqd.conf ]] || fail "dpkg -P left the conffile"
for link in sockets.target.wants/jobqd.socket multi-user.target.wants/jobqd.service; do
  [[ ! -L $ROOT/etc/systemd/system/$link ]] || fail "dpkg -P left $link enabled"
done
[[ $(cat "$ROOT/var/lib/jobq/jobq.db") == jobs ]] || fail "dpkg -P deleted the job data"
grep -q "kept /var/lib/jobq" "$WORK/purge.log" || fail "dpkg -P does not say it kept /var/lib/jobq: $(cat "$WORK/purge.log")"
in_root getent group jobq >/dev/null || fail "dpkg -P removed the group jobq"
echo "ok: dpkg -P removes the configuration and the units' state, keeps the job data and the group"
echo "PASS"
