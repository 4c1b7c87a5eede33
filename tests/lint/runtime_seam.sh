#!/usr/bin/env bash
# Only runtime/docker/ and runtime/swarm/ (Docker's Swarm) speak Docker:
# outside them, no code in lib/ (comments aside) names Docker's container
# states, its jobq.* label keys, its API paths or headers, or reads an exit
# code as an engine's kill. The rest of
# jobq works through the runtime seam (lib/runtime/runtime.hpp): phases,
# capabilities and the run's own status. Fails naming each line that does.
#   tests/lint/runtime_seam.sh [SOURCE-DIR]
set -euo pipefail
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src"
pattern='"(created|exited|dead|restarting|removing)"|"jobq\.(job|attempt|app|instance)"'
pattern+='|/containers/|/images/|X-Registry-Auth|exit_code *[=!]= *(125|126|127|128|137|143|255)'
pattern+='|ContainerState|ContainerEngine|DockerEngine|SwarmApi'
found=$(find lib \( -path lib/runtime/docker -o -path lib/runtime/swarm \) -prune -o \( -name '*.cpp' -o -name '*.hpp' \) -print |
  sort | xargs grep -nE "$pattern" | grep -vE '^[^:]+:[0-9]+: *//' || true)
if [[ -n $found ]]; then
  echo "FAIL: Docker's terms outside lib/runtime/docker/ and swarm/ (use the runtime seam):" >&2
  echo "$found" >&2
  exit 1
fi
checked=$(find lib \( -path lib/runtime/docker -o -path lib/runtime/swarm \) -prune -o \( -name '*.cpp' -o -name '*.hpp' \) -print | wc -l)
((checked > 0)) || { echo "FAIL: no sources found under $src/lib" >&2; exit 1; }
echo "ok: $checked files outside lib/runtime/docker/ and swarm/ speak only the runtime seam"
