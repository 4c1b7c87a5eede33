# Sourced by the swarm runtime's integration tests, after lib.sh: a private
# Docker Swarm (swarm/private_swarm.sh: its own dockerds in their own
# namespaces, never the machine's engine) of SWARM_NODES nodes (default 1)
# with the test image on every node, torn down at exit; start_daemon then
# points jobqd's swarm runtime at its manager, and `sdocker` is the docker
# CLI on that manager. Exits 125 (skipped) where a private swarm cannot run,
# unless JOBQ_REQUIRE_DOCKER=1 (then it fails).
SWARM_DIR=$WORK/swarm
mkdir -p "$SWARM_DIR"
swarm_rc=0
SWARM_PREFER_OFFLINE_IMAGE=1 IMAGE=$TEST_IMAGE \
  bash "$(dirname "${BASH_SOURCE[0]}")/swarm/private_swarm.sh" up "$SWARM_DIR" "${SWARM_NODES:-1}" ||
  swarm_rc=$?
if ((swarm_rc != 0)); then
  if ((swarm_rc == 125)) && [[ ${JOBQ_REQUIRE_DOCKER:-0} != 1 ]]; then
    echo "SKIP: a private swarm cannot run here" >&2
    exit 125
  fi
  fail "the private swarm did not come up (private_swarm.sh exited $swarm_rc)"
fi
# shellcheck source=/dev/null
source "$SWARM_DIR/env"
swarm_cleanup() {
  bash "$(dirname "${BASH_SOURCE[0]}")/swarm/private_swarm.sh" down "$SWARM_DIR" || true
}
# After the test's own extra_cleanup (which lib.sh's cleanup calls).
if declare -F extra_cleanup >/dev/null; then
  eval "$(declare -f extra_cleanup | sed '1s/extra_cleanup/test_extra_cleanup/')"
  extra_cleanup() {
    test_extra_cleanup || true
    stop_daemon || true
    swarm_cleanup
  }
else
  extra_cleanup() {
    stop_daemon || true
    swarm_cleanup
  }
fi
sdocker() { docker -H "$SWARM_HOST" "$@"; }

# start_daemon with the swarm runtime on this swarm's manager.
eval "$(declare -f start_daemon | sed '1s/start_daemon/host_start_daemon/')"
start_daemon() { host_start_daemon --swarm-host "$SWARM_HOST" "$@"; }

# swarm_app NAME [app create options]: an application on the swarm runtime.
swarm_app() {
  local name=$1
  shift
  "$JOBQ" app create "$name" --image "$TEST_IMAGE" --runtime swarm "$@" >/dev/null
}
