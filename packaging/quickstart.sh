#!/usr/bin/env bash
# From nothing to a real job: installs the build dependencies and docker.io
# if missing, starts dockerd if none answers, builds jobq, makes a local
# busybox image (unless JOBQ_IMAGE names one), starts jobqd on its defaults
# if it is not running, creates the application "demo", enqueues a job and
# shows its result.
#   packaging/quickstart.sh
#   JOBQ_IMAGE=debian:bookworm packaging/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

"$root/packaging/install-deps.sh"
"$root/packaging/ensure-dockerd.sh" >/dev/null

cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBQ_BUILD_TESTS=OFF >/dev/null
cmake --build "$root/build" -j"$(nproc)"
jobq=$root/build/cli/jobq
jobqd=$root/build/daemon/jobqd

image=${JOBQ_IMAGE:-}
if [[ -z $image ]]; then
  image=busybox-local
  docker image inspect "$image" >/dev/null 2>&1 || "$root/packaging/make-test-image.sh" "$image" >/dev/null
fi

if ! "$jobq" --connect-timeout 0 status >/dev/null 2>&1; then
  state_dir=$([[ $(id -u) -eq 0 ]] && echo /var/lib/jobq || echo "${XDG_STATE_HOME:-$HOME/.local/state}/jobq")
  mkdir -p "$state_dir"
  echo "starting jobqd (log: $state_dir/jobqd.log)"
  setsid "$jobqd" >>"$state_dir/jobqd.log" 2>&1 </dev/null &
  for _ in $(seq 1 100); do
    "$jobq" status >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
"$jobq" status

"$jobq" app show demo >/dev/null 2>&1 || "$jobq" app create demo --image "$image" --max-running 2
id=$("$jobq" enqueue demo -q --message '{"hello":"world"}' -- sh -c 'echo "hello from job $JOBQ_JOB_ID: $JOBQ_MESSAGE"; exit 3')
echo
echo "enqueued job $id; waiting for it"
rc=0
"$jobq" wait "$id" || rc=$?
echo "jobq wait exited with $rc: the job's own exit code"
echo
"$jobq" show "$id"
echo
echo "its output (jobq logs $id):"
"$jobq" logs "$id"
echo
echo "jobq and jobqd are in $root/build; try: $jobq list"
