#!/usr/bin/env bash
# A job's user: a job runs only with the ids its application allows. An
# application that leaves the user to its image lets no job choose one; one
# that names a range (--job-users) takes numeric UID:GID within it, never 0,
# and the job then has exactly that uid and gid and no group from the image's
# /etc/group (which here lists the uid in group 50, and in root's group 0).
source "$(dirname "$0")/lib.sh"
image=jobq-test-users:$RUN_ID
extra_cleanup() {
  docker rm -f "$RUN_ID-base" >/dev/null 2>&1 || true
  docker rmi -f "$image" >/dev/null 2>&1 || true
}
# The test image plus a user 10001 who is in groups 50 and 0 by the image's files.
docker create --name "$RUN_ID-base" --label "jobq-test-run=$RUN_ID" "$TEST_IMAGE" true >/dev/null
printf 'root:x:0:0:root:/:/bin/sh\nsvc:x:10001:10001::/:/bin/sh\n' >"$WORK/passwd"
printf 'root:x:0:svc\nstaff:x:50:svc\nsvc:x:10001:\n' >"$WORK/group"
docker cp "$WORK/passwd" "$RUN_ID-base:/etc/passwd"
docker cp "$WORK/group" "$RUN_ID-base:/etc/group"
docker commit -c 'LABEL jobq.test=1' "$RUN_ID-base" "$image" >/dev/null
docker rm -f "$RUN_ID-base" >/dev/null
# What the old rule let through: by name or by uid alone, the job got gid 0
# or the image's groups.
docker run --rm --label "jobq-test-run=$RUN_ID" --user svc "$image" id -G | grep -qw 0 ||
  fail "the image does not put svc in group 0 (the test's premise)"

start_daemon
"$JOBQ" app create imageuser --image "$image" >/dev/null
"$JOBQ" app create ranged --image "$image" --job-users 10000-10999 >/dev/null
assert_eq 10000-10999 "$("$JOBQ" app show ranged --json | jq -r .app.resources.job_users)" "the application's job users"

refused() {  # app user what
  local rc=0 out
  out=$(enq "$1" --user "$2" -- id 2>&1) || rc=$?
  assert_eq 1 "$rc" "$3 (--user $2 in $1)"
  [[ $out == *"$4"* ]] || fail "$3: the refusal does not say '$4': $out"
}
refused imageuser 10001:10001 "an application without job users" "lets no job choose its user"
refused imageuser 1000 "a uid alone (gid 0) where the image chooses" "lets no job choose its user"
refused imageuser svc "a name from the image's files" "lets no job choose its user"
refused ranged svc "a name" "numeric UID:GID"
refused ranged 10001 "a uid without its group" "numeric UID:GID"
refused ranged 10001:0 "group 0" "root"
refused ranged 0:10001 "uid 0" "root"
refused ranged 10001:50 "a group outside the range" "outside the ids"
refused ranged 20000:20000 "a user outside the range" "outside the ids"
rc=0; out=$("$JOBQ" enqueue ranged -q --label "jobq-test-run=$RUN_ID" -- true 2>&1) || rc=$?
assert_eq 0 "$rc" "a job without a user of its own: $out"

# Within the range: exactly that uid and gid, no supplementary group.
id=$(enq ranged --user 10001:10001 -- sh -c 'id -u; id -g; id -G')
rc=0; "$JOBQ" wait --timeout 60s "$id" >/dev/null || rc=$?
assert_eq 0 "$rc" "a job within its application's ids"
assert_eq "10001 10001 10001" "$("$JOBQ" logs "$id" | tr '\n' ' ' | sed 's/ $//')" "the job's uid, gid and groups"

# The application loses its range: no job may choose its user any more.
"$JOBQ" app update ranged --job-users "" >/dev/null
refused ranged 10001:10001 "after the range is removed" "lets no job choose its user"
echo "PASS"
