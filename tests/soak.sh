#!/usr/bin/env bash
# The long version of the kill -9 loop (not part of the default test run):
#   tests/soak.sh [JOBS] [KILLS]      defaults: 400 jobs, 60 kills
# Needs a built tree (build/) and a running dockerd; builds the test image.
set -euo pipefail
cd "$(dirname "$0")/.."
export JOBS=${1:-400} KILLS=${2:-60}
export JOBQ=${JOBQ:-$PWD/build/cli/jobq} JOBQD=${JOBQD:-$PWD/build/daemon/jobqd} JOBQ_REQUIRE_DOCKER=1
export JOBQ_TEST_IMAGE=jobq-test-busybox:soak
packaging/make-test-image.sh "$JOBQ_TEST_IMAGE" jobq.test=1 >/dev/null
trap 'docker rmi -f "$JOBQ_TEST_IMAGE" >/dev/null 2>&1 || true' EXIT
start=$(date +%s)
bash tests/integration/kill_loop.sh 2>&1 | grep -E '^(PASS|FAIL|SKIP)|acknowledged'
echo "soak took $(($(date +%s) - start)) s"
