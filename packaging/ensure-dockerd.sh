#!/usr/bin/env bash
# Makes sure a Docker engine answers. When none does, starts dockerd in the
# background, detached from our output (setsid, own log file), and prints its
# pid on stdout so the caller can stop exactly that process later.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "jobq: no Docker engine answers and only root can start one; run 'sudo dockerd &' or start the docker service" >&2
  exit 1
fi
command -v dockerd >/dev/null || { echo "jobq: dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }
log=${DOCKERD_LOG:-/var/log/jobq-dockerd.log}
setsid dockerd >"$log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "jobq: dockerd exited while starting; its log ($log) ends with:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "jobq: dockerd did not answer within 30 s; see $log" >&2
exit 1
