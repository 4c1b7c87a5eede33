#!/usr/bin/env bash
# Builds a tiny local image from Debian's busybox-static, with no registry:
# a root folder with busybox and its applets, imported with `docker import`.
#   make-test-image.sh [NAME] [LABEL=VALUE...]
set -euo pipefail
name=${1:-busybox-local}
shift || true
busybox=$(command -v busybox || true)
[[ -x /bin/busybox ]] && busybox=/bin/busybox
ldd_out=$(LC_ALL=C ldd "$busybox" 2>&1 || true)
if [[ -z $busybox || ( $ldd_out != *"not a dynamic"* && $ldd_out != *"statically linked"* ) ]]; then
  echo "jobq: a static busybox is needed (apt-get install busybox-static)" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
done
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
echo "nobody:x:65534:65534:nobody:/:/bin/sh" >>"$root/etc/passwd"
chmod 1777 "$root/tmp"
changes=(-c 'ENV PATH=/bin' -c 'CMD ["sh", "-c", "echo hello from jobq"]')
for label in "$@"; do changes+=(-c "LABEL $label"); done
tar -C "$root" -c . | docker import "${changes[@]}" - "$name" >/dev/null
echo "$name"
