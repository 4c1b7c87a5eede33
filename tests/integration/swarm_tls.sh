#!/usr/bin/env bash
# jobqd talking to a swarm manager over TCP with TLS (--swarm-host
# tcp://HOST:PORT --swarm-tls-dir DIR), as to a manager on another machine:
# the private swarm's dockerd serves its API with --tlsverify on port 2376
# inside its own network namespace, and jobqd runs in that namespace (its
# own Docker engine is still the machine's, over its Unix socket). Jobs run
# and end through it; a client certificate the manager's CA did not sign is
# refused, and so is a manager whose certificate jobqd's CA did not sign
# (status shows the manager unreachable, saying why).
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl is missing" >&2; exit 125; }
pki=$WORK/pki
mkdir -p "$pki/client" "$pki/stranger" "$pki/other-ca"
cert() {  # DIR NAME CA-DIR [extfile-line]: a key and a certificate signed by CA-DIR's
  local dir=$1 name=$2 ca=$3 ext=${4:-}
  openssl genrsa -out "$dir/$name-key.pem" 2048 2>/dev/null
  openssl req -new -key "$dir/$name-key.pem" -subj "/CN=$name" -out "$dir/$name.csr" 2>/dev/null
  if [[ -n $ext ]]; then
    echo "$ext" >"$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" \
      -CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name-cert.pem" 2>/dev/null
  else
    openssl x509 -req -in "$dir/$name.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" \
      -CAcreateserial -days 2 -out "$dir/$name-cert.pem" 2>/dev/null
  fi
}
ca() {  # DIR: a CA
  openssl genrsa -out "$1/ca-key.pem" 2048 2>/dev/null
  openssl req -new -x509 -days 2 -key "$1/ca-key.pem" -subj "/CN=jobq test CA" -out "$1/ca.pem" 2>/dev/null
}
ca "$pki"
cert "$pki" server "$pki" "subjectAltName = IP:127.0.0.1"
cert "$pki" client "$pki" "extendedKeyUsage = clientAuth"
cp "$pki/ca.pem" "$pki/client/ca.pem"
cp "$pki/client-cert.pem" "$pki/client/cert.pem"
cp "$pki/client-key.pem" "$pki/client/key.pem"
ca "$pki/other-ca"
cert "$pki/other-ca" client "$pki/other-ca" "extendedKeyUsage = clientAuth"
cp "$pki/ca.pem" "$pki/stranger/ca.pem"  # trusts the manager, but unknown to it
cp "$pki/other-ca/client-cert.pem" "$pki/stranger/cert.pem"
cp "$pki/other-ca/client-key.pem" "$pki/stranger/key.pem"
mkdir -p "$pki/wrong-ca"
cp "$pki/other-ca/ca.pem" "$pki/wrong-ca/ca.pem"  # does not trust the manager
cp "$pki/client/cert.pem" "$pki/client/key.pem" "$pki/wrong-ca/"

SWARM_TLS_DIR=$pki
export SWARM_TLS_DIR
source "$(dirname "$0")/swarm_lib.sh"
holder=${SWARM_HOLDER_PIDS%% *}
# jobqd in the manager's network namespace, where tcp://127.0.0.1:2376 is it.
cat >"$WORK/jobqd-in-ns" <<EOS
#!/bin/sh
exec nsenter -t $holder -n -- "$JOBQD" "\$@"
EOS
chmod +x "$WORK/jobqd-in-ns"
JOBQD=$WORK/jobqd-in-ns
tls_daemon() {  # TLS-DIR
  stop_daemon || true
  host_start_daemon --swarm-host tcp://127.0.0.1:2376 --swarm-tls-dir "$1"
}
swarm_state() {  # the swarm runtime's engine as status reports it
  local e i
  for i in $(seq 1 50); do
    e=$("$JOBQ" status --json | jq -c '.status.runtimes.swarm')
    [[ $(jq -r .checked_at <<<"$e") != null ]] && break
    sleep 0.2
  done
  echo "$e"
}

tls_daemon "$pki/client"
swarm_app t
rc=0
out=$("$JOBQ" run t -- sh -c 'echo over tls; exit 4' 2>/dev/null) || rc=$?
assert_eq 4 "$rc" "exit code through the TLS manager"
assert_eq "over tls" "$out" "output through the TLS manager"
assert_eq true "$(swarm_state | jq -r .reachable)" "manager reachable over TLS"
"$JOBQ" status | grep -q "^swarm: *reachable" || fail "status shows the swarm manager"
echo "ok: jobs run through a manager over TCP with TLS"

tls_daemon "$pki/stranger"
state=$(swarm_state)
assert_eq false "$(jq -r .reachable <<<"$state")" "a client certificate the manager does not trust"
echo "ok: refused by the manager: $(jq -r .error <<<"$state")"

tls_daemon "$pki/wrong-ca"
state=$(swarm_state)
assert_eq false "$(jq -r .reachable <<<"$state")" "a manager certificate jobqd does not trust"
jq -r .error <<<"$state" | grep -qi "certificate" || fail "the error names the certificate: $(jq -r .error <<<"$state")"
echo "ok: a manager jobqd's CA did not sign is refused: $(jq -r .error <<<"$state")"
