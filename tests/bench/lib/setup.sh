# Sourced by run.sh: what the rows need before they start. ensure_engine
# answers "is there a Docker engine" (a full run as root starts one; a smoke
# run without one exits 125, which CTest reports as a skip, as the
# integration tests do, unless JOBQ_REQUIRE_DOCKER=1); ensure_image builds
# IMAGE when it is missing (removed at the end); have_tool finds, or in a full
# run installs, the tools some rows compare with. Defines functions only.

ensure_engine() {
  docker info >/dev/null 2>&1 && return 0
  if ((!SMOKE)) && DOCKERD_PID=$(DOCKERD_LOG=$WORK/dockerd.log "$ROOT/packaging/ensure-dockerd.sh") &&
    [[ -n $DOCKERD_PID ]]; then
    log "started dockerd (pid $DOCKERD_PID); it is stopped at the end"
  else
    log "no Docker engine answers (packaging/ensure-dockerd.sh starts one)"
    [[ ${JOBQ_REQUIRE_DOCKER:-0} == 1 || $SMOKE == 0 ]] && exit 1
    exit 125
  fi
}

ensure_image() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  log "building the test image $IMAGE"
  "$ROOT/packaging/make-test-image.sh" "$IMAGE" jobq.test=1 >/dev/null || { log "cannot build $IMAGE"; exit 1; }
  BUILT_IMAGE=1
}


# have_tool COMMAND PACKAGE: COMMAND is there, or is installed when missing in
# a full run (as root, with apt-get); a smoke run installs nothing.
have_tool() {
  command -v "$1" >/dev/null && return 0
  ((SMOKE)) && return 1
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
  log "installing $2"
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q "$2" >"$WORK/apt.log" 2>&1 ||
    { timeout 300 apt-get update -q >>"$WORK/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q "$2" >>"$WORK/apt.log" 2>&1; }
  command -v "$1" >/dev/null
}
