#!/usr/bin/env bash
# Installs what jobq needs to build, run and be tested, from Debian's packages,
# skipping what is already there. Needs root (or sudo) when anything is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcli11-dev libsqlite3-dev libcurl4-openssl-dev nlohmann-json3-dev libspdlog-dev doctest-dev
  libcctz-dev tzdata
  docker.io busybox-static
  jq socat sqlite3 procps
)
# The test command also checks the C++ files' format (clang-format), fuzzes,
# with clang's libFuzzer, renders the manual
# pages with groff (tests/man), builds the Debian package (debhelper),
# checks it with lintian and installs it into a Debian 12 made by debootstrap
# (tests/integration/package.sh; ccache keeps its rebuilds quick), and pulls
# through a registry of its own on loopback (docker-registry, htpasswd from
# apache2-utils, script from util-linux: tests/integration/registry_pull.sh),
# and runs the zsh and fish completion scripts (tests/integration/completions.sh).
# A private Docker Swarm for tests (tests/integration/swarm/private_swarm.sh)
# needs unshare and nsenter (util-linux) and ip (iproute2); its TLS test makes
# certificates with openssl.
if [[ ${1:-} == --test ]]; then
  packages+=(clang clang-format libclang-rt-14-dev groff-base debhelper lintian debootstrap curl ccache
    docker-registry apache2-utils util-linux iproute2 openssl zsh fish)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "jobq: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "jobq: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# The registry test runs registries of its own on loopback; the package's
# service (an open registry on every address, port 5000) is not wanted.
if [[ " ${missing[*]} " == *" docker-registry "* && -d /run/systemd/system ]]; then
  "${sudo[@]}" systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi
