#!/usr/bin/env bash
# jobq pulls images as `docker run` does, from a real registry on loopback
# (Debian's docker-registry, two instances of our own: one open, one with
# htpasswd auth). A freshly built image is pushed, its local copy removed,
# then: `app create` pulls it (progress on a terminal); a job of an app made
# with --no-image-check pulls it at launch and succeeds; from the auth
# registry without credentials, `app create` fails with Docker's message and
# a job's attempts fail with it (retried per the policy); with
# ~/.docker/config.json for jobqd's user, the same pulls succeed; --pull
# never does not pull.
source "$(dirname "$0")/lib.sh"

REGISTRY=$(command -v docker-registry || true)
if [[ -z $REGISTRY ]] || ! command -v htpasswd >/dev/null; then
  echo "SKIP: docker-registry and htpasswd are needed (packaging/install-deps.sh --test)" >&2
  exit 125
fi

REG_PIDS=()
IMAGES=()
extra_cleanup() {
  local pid
  for pid in "${REG_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ ${#IMAGES[@]} -eq 0 ]] || docker rmi -f "${IMAGES[@]}" >/dev/null 2>&1 || true
}

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
  done
  fail "no free port found"
}

# start_registry NAME [auth]: a registry on 127.0.0.1; its port in PORT.
start_registry() {
  local name=$1 port
  port=$(free_port)
  mkdir -p "$WORK/$name"
  {
    echo "version: 0.1"
    echo "log: {level: warn}"
    echo "storage: {filesystem: {rootdirectory: $WORK/$name/data}}"
    echo "http: {addr: 127.0.0.1:$port}"
    if [[ ${2:-} == auth ]]; then
      echo "auth: {htpasswd: {realm: jobq-test, path: $WORK/$name/htpasswd}}"
    fi
  } >"$WORK/$name/config.yml"
  "$REGISTRY" serve "$WORK/$name/config.yml" >"$WORK/$name/log" 2>&1 </dev/null &
  REG_PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && { PORT=$port; return 0; }
    sleep 0.05
  done
  fail "registry $name did not answer: $(cat "$WORK/$name/log")"
}

htpasswd -Bbn jobq-user 'pw-for-jobq' >"$WORK/htpasswd.line"
mkdir -p "$WORK/private"
cp "$WORK/htpasswd.line" "$WORK/private/htpasswd"
start_registry open
OPEN=$PORT
start_registry private auth
PRIV=$PORT

# A registry login for the pushes, kept in this test's own Docker config.
AUTH_B64=$(printf '%s' 'jobq-user:pw-for-jobq' | base64 -w0)
mkdir -p "$WORK/pusher" "$WORK/home/.docker"
printf '{"auths": {"127.0.0.1:%s": {"auth": "%s"}}}\n' "$PRIV" "$AUTH_B64" >"$WORK/pusher/config.json"

# A fresh image (its own layer, so a pull downloads it), pushed to both.
REPO=$(tr 'A-Z' 'a-z' <<<"$RUN_ID")  # image names are lowercase
LOCAL=jobq-pull-$REPO:v1
IMAGES+=("$LOCAL")
"$(dirname "$0")/../../packaging/make-test-image.sh" "$LOCAL" "jobq-test-run=$RUN_ID" >/dev/null
OPEN_IMG=127.0.0.1:$OPEN/jobq-test/$REPO:v1
PRIV_IMG=127.0.0.1:$PRIV/jobq-test/$REPO:v1
IMAGES+=("$OPEN_IMG" "$PRIV_IMG")
for ref in "$OPEN_IMG" "$PRIV_IMG"; do
  docker tag "$LOCAL" "$ref"
  DOCKER_CONFIG=$WORK/pusher docker push -q "$ref" >/dev/null || fail "push of $ref failed"
done
docker rmi "$LOCAL" "$OPEN_IMG" "$PRIV_IMG" >/dev/null
gone() { ! docker image inspect "$1" >/dev/null 2>&1; }
# rmi_unused REF: removes the tag once jobqd has removed this test's containers.
rmi_unused() {
  for _ in $(seq 1 100); do
    [[ -z $(docker ps -aq --filter "label=jobq-test-run=$RUN_ID") ]] && break
    sleep 0.1
  done
  docker rmi "$1" >/dev/null
}
gone "$OPEN_IMG" || fail "the local copy of $OPEN_IMG is still there"

HOME=$WORK/home start_daemon

# 1. A job of an app created without the check pulls its image at launch.
"$JOBQ" app create lazy --image "$OPEN_IMG" --no-image-check >/dev/null
assert_eq missing "$("$JOBQ" app show lazy --json | jq -r .app.pull)" "default pull policy"
id=$(enq lazy -- sh -c 'echo pulled-and-ran')
wait_state "$id" succeeded 60
assert_eq "pulled-and-ran" "$("$JOBQ" logs "$id")" "the job's output"
docker image inspect "$OPEN_IMG" >/dev/null || fail "the image was not pulled"
grep -q "pulled image $OPEN_IMG" "$DAEMON_LOG" || fail "jobqd did not log the pull"

# 2. app create pulls a missing image, showing Docker's progress on a terminal.
rmi_unused "$OPEN_IMG"
script -qec "$JOBQ app create eager --image $OPEN_IMG" /dev/null </dev/null >"$WORK/tty.out" 2>&1 ||
  fail "app create on a terminal failed: $(cat "$WORK/tty.out")"
grep -q "Pull complete" "$WORK/tty.out" || fail "no pull progress shown: $(cat "$WORK/tty.out")"
grep -q "created application eager" "$WORK/tty.out" || fail "app create did not say it created eager"
docker image inspect "$OPEN_IMG" >/dev/null || fail "app create did not pull the image"

# 3. From the auth registry without credentials: Docker's message, at create...
if "$JOBQ" app create private --image "$PRIV_IMG" 2>"$WORK/create.err" >/dev/null; then
  fail "app create of an image it cannot pull succeeded"
fi
grep -q "cannot be had" "$WORK/create.err" || fail "unclear error: $(cat "$WORK/create.err")"
grep -q "no basic auth credentials" "$WORK/create.err" || fail "not Docker's message: $(cat "$WORK/create.err")"
"$JOBQ" app show private >/dev/null 2>&1 && fail "the application was created anyway"

# ... and at launch, as each attempt's launch failure, retried per the policy.
"$JOBQ" app create private --image "$PRIV_IMG" --no-image-check --retries 1 --retry-base 100ms >/dev/null
id=$(enq private -- sh -c 'echo private-ran')
wait_state "$id" failed 60
assert_eq 2 "$(job_jq "$id" '.attempts | length')" "attempts (one retry)"
for n in 0 1; do
  err=$(job_jq "$id" ".attempts[$n].error")
  [[ $err == *"no basic auth credentials"* ]] || fail "attempt $((n + 1)) error is not Docker's: $err"
done
gone "$PRIV_IMG" || fail "pulled without credentials?"

# 4. With ~/.docker/config.json for jobqd's user, the same pulls succeed.
printf '{"auths": {"https://127.0.0.1:%s/v2/": {"auth": "%s"}}}\n' "$PRIV" "$AUTH_B64" \
  >"$WORK/home/.docker/config.json"
"$JOBQ" retry "$id" >/dev/null
wait_state "$id" succeeded 60
assert_eq "private-ran" "$("$JOBQ" logs "$id")" "the private job's output"
rmi_unused "$PRIV_IMG"
"$JOBQ" app create private2 --image "$PRIV_IMG" >/dev/null 2>"$WORK/create2.err" ||
  fail "app create with credentials failed: $(cat "$WORK/create2.err")"
docker image inspect "$PRIV_IMG" >/dev/null || fail "app create did not pull the private image"

# 5. --pull never: nothing is pulled; the check says why.
rmi_unused "$OPEN_IMG"
if "$JOBQ" app create never --image "$OPEN_IMG" --pull never 2>"$WORK/never.err" >/dev/null; then
  fail "app create --pull never of a missing image succeeded"
fi
grep -q "pull policy is never" "$WORK/never.err" || fail "unclear error: $(cat "$WORK/never.err")"
"$JOBQ" app create never --image "$OPEN_IMG" --pull never --no-image-check >/dev/null
id=$(enq never -- true)
wait_state "$id" failed 30
[[ $(job_field "$id" .reason) == *"No such image"* ]] || fail "reason: $(job_field "$id" .reason)"
gone "$OPEN_IMG" || fail "--pull never pulled"
echo "PASS"
