#!/usr/bin/env bash
# A private Docker Swarm of one or two nodes for tests, never the machine's
# own engine. Each node is a dockerd (with its own containerd) inside its own
# network, mount, PID and UTS namespaces, held open by a `docker-init` that is
# PID 1 there; tmpfs hides the host's /run/docker, /run/containerd and
# /etc/docker from it. Two nodes talk over a veth pair made from inside one
# namespace straight into the other, on a private /30: nothing appears on the
# host's network. Killing the holders ends everything.
#
#   private_swarm.sh up DIR [NODES]   NODES 1 (default) or 2; DIR is an empty
#       directory the caller made. Writes DIR/env (shell-sourceable):
#         SWARM_DIR, SWARM_NODES
#         SWARM_SOCK, SWARM_HOST        the manager's socket, unix://SOCK
#         SWARM_SOCKS, SWARM_HOSTS      every node's, manager first
#         SWARM_NODE_IDS, SWARM_HOSTNAMES, SWARM_ADDRS   manager first
#         SWARM_HOLDER_PIDS, SWARM_DOCKERD_PIDS          host pids
#         SWARM_CGROUP_PARENTS, SWARM_IMAGE
#       With IMAGE=NAME, the test image (packaging/make-test-image.sh) is
#       imported into node 1 under that name and loaded into node 2 (one
#       image id on both). With
#       SWARM_PREFER_OFFLINE_IMAGE=1, dockerd runs with
#       DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 (tasks skip the pull of an
#       image the node already has). With SWARM_TLS_DIR=DIR (ca.pem,
#       server-cert.pem, server-key.pem) each dockerd also serves its API on
#       tcp://0.0.0.0:2376 inside its network namespace, TLS with client
#       certificates checked against ca.pem. Prints nothing but errors. Exits 125
#       when a private swarm cannot run here (the reason on stderr).
#   private_swarm.sh down DIR         ends all that `up` made and removes DIR;
#       idempotent, and safe after an `up` that failed or was killed.
#   private_swarm.sh label DIR NODE_INDEX KEY=VALUE   adds a node label
#       (NODE_INDEX 1 is the manager).
#   private_swarm.sh restart DIR      SIGKILLs the manager's dockerd and
#       starts it again (same namespaces, data and socket); returns once it
#       answers as a manager again. SWARM_DOCKERD_PIDS in DIR/env is updated.
#
# Sourced, it defines swarm_up DIR [NODES] (which also sources DIR/env),
# swarm_down DIR and swarm_label DIR INDEX KEY=VALUE, which run this file.
set -euo pipefail

PRIVATE_SWARM=$(readlink -f "${BASH_SOURCE[0]}")
SWARM_NET=10.213.7          # the /30 between two nodes: .1 manager, .2 worker

swarm_up() {
  "$PRIVATE_SWARM" up "$@" || return
  # shellcheck source=/dev/null
  source "$1/env"
}
swarm_down() { "$PRIVATE_SWARM" down "$@"; }
swarm_label() { "$PRIVATE_SWARM" label "$@"; }

die() {
  echo "private_swarm: $*" >&2
  exit 1
}
cannot_run() {
  echo "private_swarm: cannot run here: $*" >&2
  exit 125
}

# The start time of a process (clock ticks since boot), to tell it from a
# later process that got the same pid; empty when there is no such process.
proc_start() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  local fields
  read -r -a fields <<<"$stat"
  echo "${fields[19]}"
}
# alive PID START: the process we recorded is still there (and not a zombie).
alive() {
  [[ -n $1 && -n $2 && $(proc_start "$1") == "$2" ]] || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}
first_child() { local c; c=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || true; echo "${c%% *}"; }

dk() {  # dk NODE_DIR docker-args...: the docker CLI against that node
  local sock=$1/docker.sock
  shift
  docker -H "unix://$sock" "$@"
}

check_can_run() {
  [[ $(id -u) -eq 0 ]] || cannot_run "needs root"
  local c
  for c in unshare nsenter ip mount dockerd docker docker-init; do
    command -v "$c" >/dev/null || cannot_run "$c is not installed"
  done
  unshare --net --mount --pid --uts --fork --mount-proc true 2>/dev/null ||
    cannot_run "the kernel refuses new network, mount, PID and UTS namespaces"
  local d
  for d in /etc/docker /sys/fs/cgroup; do
    [[ -d $d ]] || cannot_run "$d is missing"
  done
}

# start_holder NODE_DIR HOSTNAME: the namespaces and their PID 1. Records
# unshare's pid first (down ends it, and with it the holder, even if up is
# killed before it knows the holder's pid), then the holder's.
start_holder() {
  local nd=$1 hostname=$2
  # Inside: nothing we mount reaches the host; /run/docker, /run/containerd
  # (containerd's shims put their sockets there whatever its state dir is)
  # and /etc/docker (dockerd's key.json) are private tmpfs. If the host has
  # no /run/docker or /run/containerd, a tmpfs over /run gives them a place.
  local setup='
    set -e
    mount --make-rprivate /
    if [ ! -d /run/docker ] || [ ! -d /run/containerd ]; then
      mount -t tmpfs -o mode=0755 tmpfs /run
      mkdir -p /run/docker /run/containerd /run/lock
    fi
    mount -t tmpfs -o mode=0700 tmpfs /run/docker
    mount -t tmpfs -o mode=0711 tmpfs /run/containerd
    mount -t tmpfs -o mode=0755 tmpfs /etc/docker
    hostname "$1"
    ip link set lo up
    exec docker-init -s -- sleep infinity'
  (cd / && exec setsid unshare --net --mount --pid --uts --fork --kill-child --mount-proc \
    --propagation private sh -c "$setup" holder "$hostname" >"$nd/holder.log" 2>&1 </dev/null) &
  local upid=$!
  echo "$upid $(proc_start "$upid")" >"$nd/unshare.pid"
  local hpid=''
  for _ in $(seq 1 100); do
    hpid=$(first_child "$upid")
    if [[ -n $hpid && $(cat "/proc/$hpid/comm" 2>/dev/null) == docker-init ]]; then
      echo "$hpid $(proc_start "$hpid")" >"$nd/holder.pid"
      HOLDER=$hpid
      return 0
    fi
    if ! kill -0 "$upid" 2>/dev/null; then
      die "the namespaces for $hostname could not be made: $(tr '\n' ' ' <"$nd/holder.log")"
    fi
    sleep 0.05
  done
  die "the namespaces for $hostname were not ready within 5 s"
}

# start_dockerd NODE_DIR HOLDER NAME: dockerd inside the holder's namespaces,
# detached from our output; waits until it answers.
start_dockerd() {
  local nd=$1 holder=$2 name=$3
  mkdir -p "$nd/data"
  cat >"$nd/daemon.json" <<'EOF'
{
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m", "max-file": "2"},
  "features": {"buildkit": false}
}
EOF
  local env=() tls=()
  [[ ${SWARM_PREFER_OFFLINE_IMAGE:-0} == 1 ]] && env=(DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1)
  # With SWARM_TLS_DIR (ca.pem, server-cert.pem, server-key.pem): the API on
  # tcp://0.0.0.0:2376 inside the node's network namespace too, TLS with
  # client certificates, as `dockerd --tlsverify` serves it.
  if [[ -n ${SWARM_TLS_DIR:-} ]]; then
    tls=(--tlsverify --tlscacert "$SWARM_TLS_DIR/ca.pem" --tlscert "$SWARM_TLS_DIR/server-cert.pem"
      --tlskey "$SWARM_TLS_DIR/server-key.pem" -H tcp://0.0.0.0:2376)
  fi
  (cd / && exec setsid nsenter -t "$holder" -n -m -p -u -- env "${env[@]}" dockerd \
    --config-file "$nd/daemon.json" \
    --data-root "$nd/data" \
    --exec-root /run/docker/exec \
    --pidfile "$nd/dockerd.pid" \
    -H "unix://$nd/docker.sock" "${tls[@]}" \
    --containerd-namespace "$name" \
    --containerd-plugins-namespace "$name-plugins" \
    --cgroup-parent "/$name" \
    >"$nd/dockerd.log" 2>&1 </dev/null) &
  local npid=$!
  echo "$npid $(proc_start "$npid")" >"$nd/nsenter.pid"
  echo "$name" >"$nd/cgroup_parent"
  local dpid=''
  for _ in $(seq 1 600); do
    if [[ -z $dpid ]]; then
      dpid=$(first_child "$npid")
      [[ -z $dpid ]] || echo "$dpid $(proc_start "$dpid")" >"$nd/dockerd_host.pid"
    fi
    if [[ -S $nd/docker.sock ]] && dk "$nd" version >/dev/null 2>&1; then
      DOCKERD=$dpid
      return 0
    fi
    if ! kill -0 "$npid" 2>/dev/null; then
      echo "private_swarm: dockerd of $name exited while starting; its log ends with:" >&2
      tail -n 15 "$nd/dockerd.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  die "dockerd of $name did not answer within 60 s; see $nd/dockerd.log"
}

# wait_ready NODE_DIR COUNT: until the manager lists COUNT nodes, all ready.
wait_ready() {
  local out
  for _ in $(seq 1 300); do
    out=$(dk "$1" node ls --format '{{.Status}}' 2>/dev/null || true)
    if [[ $(grep -c '^Ready$' <<<"$out") -eq $2 && $(wc -l <<<"$out") -eq $2 ]]; then
      return 0
    fi
    sleep 0.2
  done
  die "the swarm's $2 node(s) were not all ready within 60 s: $(tr '\n' ' ' <<<"$out")"
}

cmd_up() {
  [[ $# -ge 1 && $# -le 2 ]] || die "usage: private_swarm.sh up DIR [NODES]"
  local nodes=${2:-1}
  [[ $nodes == 1 || $nodes == 2 ]] || die "NODES is 1 or 2, not '$nodes'"
  [[ -d $1 ]] || die "$1 is not a directory (the caller makes it)"
  local dir
  dir=$(readlink -f "$1")
  [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
  # A unix socket's path has at most 107 bytes.
  ((${#dir} + 20 <= 107)) || die "$dir is too long a path for the nodes' sockets"
  check_can_run
  unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

  touch "$dir/.private-swarm"
  UP_DIR=$dir
  trap 'up_failed $?' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  local suffix
  suffix=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
  local n nd holders=() hostnames=() names=() socks=() hosts=() addrs=() dockerds=()
  for n in $(seq 1 "$nodes"); do
    nd=$dir/node$n
    mkdir "$nd"
    hostnames+=("jobq-swarm-$n-$suffix")
    names+=("jobq-swarm-$suffix-$n")
    socks+=("$nd/docker.sock")
    hosts+=("unix://$nd/docker.sock")
    start_holder "$nd" "${hostnames[n - 1]}"
    holders+=("$HOLDER")
  done
  if ((nodes == 2)); then
    # Made inside node 1's network namespace with its peer put straight into
    # node 2's: the pair never exists on the host.
    nsenter -t "${holders[0]}" -n ip link add swarm0 type veth peer name swarm0 netns "${holders[1]}"
    for n in 1 2; do
      nsenter -t "${holders[n - 1]}" -n ip addr add "$SWARM_NET.$n/30" dev swarm0
      nsenter -t "${holders[n - 1]}" -n ip link set swarm0 up
      addrs+=("$SWARM_NET.$n")
    done
  else
    addrs=(127.0.0.1)
  fi
  # Both dockerds start at once: that is most of the time `up` takes.
  local pids=()
  for n in $(seq 1 "$nodes"); do
    (start_dockerd "$dir/node$n" "${holders[n - 1]}" "${names[n - 1]}"
      echo "$DOCKERD" >"$dir/node$n/.dockerd") &
    pids+=($!)
    echo "$! $(proc_start $!)" >"$dir/node$n/starter.pid"
  done
  local failed=0
  for n in "${pids[@]}"; do wait "$n" || failed=1; done
  ((failed == 0)) || exit 1
  for n in $(seq 1 "$nodes"); do dockerds+=("$(cat "$dir/node$n/.dockerd")"); done

  local mgr=$dir/node1 import_pid=
  # The image is made while the swarm forms (it takes seconds: a symlink per
  # busybox applet), into node 1; the other node gets the same image (same
  # id) by save and load.
  if [[ -n ${IMAGE:-} ]]; then
    local make_image
    make_image=$(readlink -f "$(dirname "$PRIVATE_SWARM")/../../../packaging/make-test-image.sh")
    DOCKER_HOST=unix://$mgr/docker.sock "$make_image" "$IMAGE" jobq.test=1 >/dev/null &
    import_pid=$!
    echo "$import_pid $(proc_start "$import_pid")" >"$mgr/import.pid"
  fi
  dk "$mgr" swarm init --listen-addr "${addrs[0]}:2377" --advertise-addr "${addrs[0]}" >/dev/null
  if ((nodes == 2)); then
    local token
    token=$(dk "$mgr" swarm join-token -q worker)
    dk "$dir/node2" swarm join --token "$token" --listen-addr "${addrs[1]}:2377" \
      --advertise-addr "${addrs[1]}" "${addrs[0]}:2377" >/dev/null
  fi
  if [[ -n $import_pid ]]; then
    wait "$import_pid" || die "making $IMAGE on node 1 failed"
    for n in $(seq 2 "$nodes"); do
      dk "$mgr" save "$IMAGE" | dk "$dir/node$n" load -q >/dev/null || die "loading $IMAGE into node $n failed"
    done
  fi
  wait_ready "$mgr" "$nodes"

  local ids=() id
  for n in $(seq 1 "$nodes"); do
    id=$(dk "$dir/node$n" info --format '{{.Swarm.NodeID}}')
    [[ -n $id ]] || die "node $n has no swarm node id"
    ids+=("$id")
    # The swarm knows the node by the hostname its namespace gave it.
    [[ $(dk "$mgr" node inspect --format '{{.Description.Hostname}}' "$id") == "${hostnames[n - 1]}" ]] ||
      die "node $n's hostname is not ${hostnames[n - 1]}"
  done

  {
    printf 'SWARM_DIR=%q\n' "$dir"
    printf 'SWARM_NODES=%q\n' "$nodes"
    printf 'SWARM_SOCK=%q\n' "${socks[0]}"
    printf 'SWARM_HOST=%q\n' "${hosts[0]}"
    printf 'SWARM_SOCKS=%q\n' "${socks[*]}"
    printf 'SWARM_HOSTS=%q\n' "${hosts[*]}"
    printf 'SWARM_NODE_IDS=%q\n' "${ids[*]}"
    printf 'SWARM_HOSTNAMES=%q\n' "${hostnames[*]}"
    printf 'SWARM_ADDRS=%q\n' "${addrs[*]}"
    printf 'SWARM_HOLDER_PIDS=%q\n' "${holders[*]}"
    printf 'SWARM_DOCKERD_PIDS=%q\n' "${dockerds[*]}"
    printf 'SWARM_CGROUP_PARENTS=%q\n' "${names[*]/#//}"
    printf 'SWARM_IMAGE=%q\n' "${IMAGE:-}"
  } >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
  trap - EXIT INT TERM
}

# On a failed `up`: end what it started, keep DIR (its logs) for the
# caller's `down`.
up_failed() {
  local rc=$1
  trap - EXIT
  ((rc != 0)) || exit 0
  [[ -z ${UP_DIR:-} ]] || stop_nodes "$UP_DIR" || true
  exit "$rc"
}

# stop_nodes DIR: kills every node's holder (and unshare, nsenter, in case
# `up` died before it knew the holder), waits until all are gone, removes
# the nodes' cgroups and any mount left under DIR.
stop_nodes() {
  local dir=$1 nd f pid start watch=()
  for nd in "$dir"/node*/; do
    [[ -d $nd ]] || continue
    # First what `up` ran in the background (only left if `up` was killed):
    # the waits for dockerd and the image's import.
    for f in starter import; do
      [[ -f $nd/$f.pid ]] && read -r pid start <"$nd/$f.pid" || continue
      watch+=("$pid $start")
      if alive "$pid" "$start"; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    for f in holder unshare nsenter dockerd_host; do
      [[ -f $nd/$f.pid ]] && read -r pid start <"$nd/$f.pid" || continue
      watch+=("$pid $start")
      # Killing PID 1 of a PID namespace ends every process inside it;
      # unshare (--kill-child) takes its holder with it.
      if [[ $f == holder || $f == unshare ]] && alive "$pid" "$start"; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done
  done
  local w left
  for _ in $(seq 1 300); do
    left=0
    for w in "${watch[@]}"; do
      # shellcheck disable=SC2086
      if alive $w; then left=1; fi
    done
    ((left == 0)) && break
    sleep 0.1
  done
  ((left == 0)) || echo "private_swarm: some processes of $dir did not end within 30 s" >&2

  # cgroups: dockerd puts containers under /PARENT in every hierarchy
  # (/sys/fs/cgroup/CONTROLLER/PARENT on cgroup v1, /sys/fs/cgroup/PARENT on
  # v2); they are empty once the namespace is gone, but stay.
  local name d
  for nd in "$dir"/node*/; do
    [[ -f $nd/cgroup_parent ]] || continue
    name=$(cat "$nd/cgroup_parent")
    [[ $name == jobq-swarm-* ]] || continue
    for _ in $(seq 1 50); do
      left=0
      while IFS= read -r d; do
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || left=1
      done < <(find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$name" 2>/dev/null)
      ((left == 0)) && break
      sleep 0.1
    done
    ((left == 0)) || echo "private_swarm: cgroup $name could not be removed" >&2
  done

  # The namespaces' mounts went with them; anything under DIR that reached
  # the host's mount table is unmounted too.
  local mounts
  mounts=$(awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  for d in $mounts; do umount -l "$d" 2>/dev/null || true; done
}

cmd_down() {
  [[ $# -eq 1 ]] || die "usage: private_swarm.sh down DIR"
  [[ -e $1 ]] || return 0
  local dir
  dir=$(readlink -f "$1")
  [[ -d $dir ]] || die "$dir is not a directory"
  if [[ ! -e $dir/.private-swarm ]]; then
    # Made by the caller, left empty by an `up` that failed at once.
    [[ -z $(ls -A "$dir") ]] || die "$dir was not made by 'private_swarm.sh up'; left alone"
    rmdir "$dir"
    return 0
  fi
  stop_nodes "$dir"
  rm -rf "$dir"
}

cmd_label() {
  [[ $# -eq 3 && $3 == *=* ]] || die "usage: private_swarm.sh label DIR NODE_INDEX KEY=VALUE"
  local dir=$1 index=$2
  [[ -f $dir/env ]] || die "$dir/env is missing (no swarm is up there)"
  # shellcheck source=/dev/null
  source "$dir/env"
  local ids
  read -r -a ids <<<"$SWARM_NODE_IDS"
  [[ $index =~ ^[0-9]+$ ]] && ((index >= 1 && index <= ${#ids[@]})) ||
    die "NODE_INDEX is 1 to ${#ids[@]}, not '$index'"
  unset DOCKER_HOST DOCKER_CONTEXT
  # GET /nodes/{id}, then POST /nodes/{id}/update?version=N with its spec
  # plus the label.
  docker -H "$SWARM_HOST" node update --label-add "$3" "${ids[index - 1]}" >/dev/null
}

cmd_restart() {
  [[ $# -eq 1 ]] || die "usage: private_swarm.sh restart DIR"
  local dir=$1
  [[ -f $dir/env ]] || die "$dir/env is missing (no swarm is up there)"
  # shellcheck source=/dev/null
  source "$dir/env"
  local holders dockerds nd=$dir/node1
  read -r -a holders <<<"$SWARM_HOLDER_PIDS"
  read -r -a dockerds <<<"$SWARM_DOCKERD_PIDS"
  local old=${dockerds[0]}
  local recorded
  recorded=$(cat "$nd/dockerd_host.pid")
  [[ ${recorded%% *} == "$old" ]] && alive $recorded || die "the manager's dockerd ($old) is not running"
  kill -KILL "$old"
  for _ in $(seq 1 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  unset DOCKER_HOST DOCKER_CONTEXT
  rm -f "$nd/docker.sock"
  DOCKERD=
  start_dockerd "$nd" "${holders[0]}" "$(cat "$nd/cgroup_parent")"
  for _ in $(seq 1 300); do
    [[ $(dk "$nd" info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null) == true ]] && break
    sleep 0.2
  done
  dockerds[0]=$DOCKERD
  sed -i "s/^SWARM_DOCKERD_PIDS=.*/SWARM_DOCKERD_PIDS='${dockerds[*]}'/" "$dir/env"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  cmd=${1:-}
  shift || true
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    label) cmd_label "$@" ;;
    restart) cmd_restart "$@" ;;
    *) die "usage: private_swarm.sh up DIR [NODES] | down DIR | label DIR NODE_INDEX KEY=VALUE | restart DIR" ;;
  esac
fi
