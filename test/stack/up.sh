#!/usr/bin/env bash
# `make up`: the local EKS stack on loopback. etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler (built from source, cached), moto,
# the fault injector in front of it, seeded AWS, then the node simulator.
# Idempotent: a component whose pid file names a live process is kept. On a
# failure it stops whatever this run started, so nothing is left half up.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"
T0=$(date +%s%N)

STARTED=()
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" != 0 ] && [ ${#STARTED[@]} -gt 0 ]; then
    say "make up failed; stopping what this run started: ${STARTED[*]}"
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
      local entry="${STARTED[$i]}"
      stop_component "${entry%%:*}" "${entry#*:}" 10
    done
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---- preflight: tools
for tool in go python3 openssl curl ss setsid; do
  command -v "$tool" >/dev/null 2>&1 || case "$tool" in
    go) die "Go not found on PATH: install Go >= 1.26 (https://go.dev/doc/install) to build the control plane, then re-run make up." ;;
    python3) die "python3 not found: install Python >= 3.9 with venv (apt-get install python3 python3-venv) for moto, then re-run make up." ;;
    openssl) die "openssl not found: apt-get install openssl, then re-run make up." ;;
    ss) die "ss not found: apt-get install iproute2, then re-run make up." ;;
    *) die "$tool not found: install it, then re-run make up." ;;
  esac
done
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
[ "$node_major" -ge 24 ] || die "Node >= 24 not found at node_modules/.bin/node (found major $node_major): run make deps (npm ci) first."

# ---- control-plane binaries (a no-op when cached)
BIN="$(bash test/stack/build-control-plane.sh --print-dir)" \
  || die "building the control plane failed (output above); fix the cause and re-run make up (the cache is ~/.cache/kdb-operator)."

# ---- moto in a venv pinned by requirements.txt; the stamp says which file built it
VENV="$REPO/.venv"
req_sum="$(sha256sum test/stack/requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$VENV/.kdb-requirements" 2>/dev/null)" != "$req_sum" ] || [ ! -x "$VENV/bin/moto_server" ]; then
  say "installing moto into $VENV (pinned by test/stack/requirements.txt) ..."
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" \
    || die "python3 -m venv failed: install the venv module (apt-get install python3-venv), then re-run make up."
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r test/stack/requirements.txt >&2 \
    || die "pip could not install test/stack/requirements.txt into .venv (output above); check PyPI access, then re-run make up."
  echo "$req_sum" >"$VENV/.kdb-requirements"
fi

# ---- state folder, credentials, client env
mkdir -p "$STACK" "$LOGS" "$PIDS"
bash test/stack/pki.sh
ADMIN_TOKEN="$(awk -F, '$2 == "admin" { print $1 }' "$STACK/tokens.csv")"
cat >"$STACK/env" <<ENV
# Source this for clients of the local stack (docs/contracts.md).
export KUBECONFIG="$STACK/kubeconfig"
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT_AWS"
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_EC2_METADATA_DISABLED=true
export KDB_FAULTS_URL="http://127.0.0.1:$PORT_FAULTS"
export KDB_MOTO_URL="http://127.0.0.1:$PORT_MOTO"
export KDB_STACK_DIR="$STACK"
ENV

# ---- helpers
# "<command> (pid N)" of whoever listens on a TCP port, or nothing.
port_holder() {
  local line
  line="$(ss -Hltnp "sport = :$1" 2>/dev/null | head -1)"
  [ -n "$line" ] || return 1
  if [[ "$line" =~ users:\(\(\"([^\"]+)\",pid=([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]} (pid ${BASH_REMATCH[2]})"
  else
    echo "an unknown process"
  fi
}

# start NAME MATCH "PORTS" CMD...: starts CMD in its own session with its log
# and pid file unless it already runs; refuses when one of its ports is taken.
start() {
  local name="$1" match="$2" ports="$3" pid
  shift 3
  if pid="$(live_pid "$name" "$match")"; then
    say "$name already running (pid $pid)"
    return 0
  fi
  # shellcheck disable=SC2086 # a list of ports
  check_ports "$name" "$match" $ports
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
  STARTED+=("$name:$match")
  say "started $name (pid $!), log $LOGS/$name.log"
}

# wait_for NAME MATCH TIMEOUT_S WHAT CMD...: polls CMD until it succeeds;
# fails early with the log's tail when the component died meanwhile.
wait_for() {
  local name="$1" match="$2" timeout="$3" what="$4" deadline
  shift 4
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! live_pid "$name" "$match" >/dev/null; then
      tail -n 15 "$LOGS/$name.log" >&2 || true
      die "$name exited before $what (log above, full log $LOGS/$name.log)."
    fi
    [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${timeout}s waiting for $what; see $LOGS/$name.log."
    sleep 0.2
  done
}

api() { curl -sf --cacert "$PKI/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" "https://127.0.0.1:$PORT_APISERVER$1"; }

# ---- every port is checked before anything starts, so a conflict costs nothing
check_ports() { # NAME MATCH PORTS...
  local name="$1" match="$2" p holder
  shift 2
  live_pid "$name" "$match" >/dev/null && return 0
  for p in "$@"; do
    if holder="$(port_holder "$p")"; then
      die "port 127.0.0.1:$p (for $name) is already taken by $holder; stop it (or run make down if it is a stale stack) and re-run make up."
    fi
  done
}
check_ports etcd "etcd --name kdb-local" "$PORT_ETCD" "$PORT_ETCD_PEER"
check_ports kube-apiserver kube-apiserver "$PORT_APISERVER"
check_ports moto moto_server "$PORT_MOTO"
check_ports fault-injector fault-injector.ts "$PORT_AWS" "$PORT_FAULTS"

# ---- etcd
# A stopped etcd starts empty: its old objects would describe instances that
# moto (in memory) no longer has.
live_pid etcd "etcd --name kdb-local" >/dev/null || rm -rf "$STACK/etcd"
# --unsafe-no-fsync: a throwaway test cluster; fsync dominated apiserver latency.
start etcd "etcd --name kdb-local" "$PORT_ETCD $PORT_ETCD_PEER" \
  "$BIN/etcd" --name kdb-local --data-dir "$STACK/etcd" \
  --listen-client-urls "http://127.0.0.1:$PORT_ETCD" --advertise-client-urls "http://127.0.0.1:$PORT_ETCD" \
  --listen-peer-urls "http://127.0.0.1:$PORT_ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$PORT_ETCD_PEER" \
  --initial-cluster "kdb-local=http://127.0.0.1:$PORT_ETCD_PEER" --unsafe-no-fsync --log-level warn
wait_for etcd "etcd --name kdb-local" 30 "etcd health" curl -sf "http://127.0.0.1:$PORT_ETCD/health"

# ---- moto starts now so it is ready by the time the control plane is
start moto moto_server "$PORT_MOTO" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT_MOTO"

# ---- kube-apiserver
# --endpoint-reconciler-type none: the API refuses loopback addresses in
# Endpoints and EndpointSlices, so the 'kubernetes' Service cannot point at
# 127.0.0.1 (the lease reconciler would only log that error every 10 s). Pods
# reach the API through KUBERNETES_SERVICE_HOST/PORT = 127.0.0.1:16443, which
# the node simulator sets; a non-loopback advertise address is not an option.
SA_ISSUER="https://kubernetes.default.svc.cluster.local"
start kube-apiserver kube-apiserver "$PORT_APISERVER" \
  "$BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$PORT_ETCD" \
  --bind-address 127.0.0.1 --secure-port "$PORT_APISERVER" --advertise-address 127.0.0.1 \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" --token-auth-file "$STACK/tokens.csv" \
  --authorization-mode Node,RBAC \
  --enable-admission-plugins NodeRestriction \
  --service-account-issuer "$SA_ISSUER" --api-audiences "$SA_ISSUER" \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 \
  --allow-privileged --profiling=false --endpoint-reconciler-type none
wait_for kube-apiserver kube-apiserver 90 "kube-apiserver /readyz" api /readyz

# ---- controllers and scheduler (no serving port: nothing here scrapes them)
start kube-controller-manager kube-controller-manager "" \
  "$BIN/kube-controller-manager" \
  --kubeconfig "$PKI/kube-controller-manager.kubeconfig" \
  --use-service-account-credentials --service-account-private-key-file "$PKI/sa.key" \
  --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --cluster-name kdb-local --leader-elect=false --secure-port 0 --controllers '*' \
  --pvclaimbinder-sync-period 2s
start kube-scheduler kube-scheduler "" \
  "$BIN/kube-scheduler" --kubeconfig "$PKI/kube-scheduler.kubeconfig" --leader-elect=false --secure-port 0

# ---- AWS: moto, the fault injector, the seed
wait_for moto moto_server 60 "moto on 127.0.0.1:$PORT_MOTO" curl -sf "http://127.0.0.1:$PORT_MOTO/moto-api/"
start fault-injector fault-injector.ts "$PORT_AWS $PORT_FAULTS" \
  env KDB_STACK_DIR="$STACK" KDB_MOTO_URL="http://127.0.0.1:$PORT_MOTO" node test/stack/fault-injector.ts
KDB_STACK_DIR="$STACK" KDB_MOTO_URL="http://127.0.0.1:$PORT_MOTO" node test/stack/seed-aws.ts >&2 \
  || die "seeding moto failed (message above); see $LOGS/moto.log."
wait_for fault-injector fault-injector.ts 30 "the fault injector on 127.0.0.1:$PORT_FAULTS" \
  curl -sf "http://127.0.0.1:$PORT_FAULTS/healthz"

# The controller-manager is working once its service-account controller made
# the default namespace's ServiceAccount.
wait_for kube-controller-manager kube-controller-manager 90 "the default ServiceAccount (controller-manager)" \
  api /api/v1/namespaces/default/serviceaccounts/default
live_pid kube-scheduler kube-scheduler >/dev/null || { tail -n 15 "$LOGS/kube-scheduler.log" >&2; die "kube-scheduler exited (log above)."; }

# ---- node simulator, last: it needs the API, moto and the seeded groups
if [ -f test/nodesim/main.ts ]; then
  start nodesim test/nodesim/main.ts "" \
    bash -c "set -a; source '$STACK/env'; export KUBECONFIG='$PKI/nodesim.kubeconfig'; exec node test/nodesim/main.ts"
  node test/stack/wait-nodes.ts "${KDB_NODES_TIMEOUT:-120}" \
    || { live_pid nodesim test/nodesim/main.ts >/dev/null || tail -n 15 "$LOGS/nodesim.log" >&2; die "the node simulator did not bring up a Ready node per node group (see above)."; }
else
  say "test/nodesim/main.ts not found: skipping the node simulator (no Nodes, pods stay Pending)."
fi

say "stack up in $(((($(date +%s%N) - T0) / 1000000)))ms: source $STACK/env (KUBECONFIG=$STACK/kubeconfig)"
