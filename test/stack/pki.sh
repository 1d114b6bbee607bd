#!/usr/bin/env bash
# Credentials of the local stack, made with openssl into <stack>/pki and
# <stack>: a CA, the apiserver's serving certificate, the service-account
# signing key pair, a static token file and one kubeconfig per client.
# Keeps what already exists, so a second `make up` reuses the same identity.
#
#   bash test/stack/pki.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
command -v openssl >/dev/null || die "openssl not found; install it (apt-get install openssl) and re-run make up."

mkdir -p "$PKI"
umask 077

if [ ! -s "$PKI/ca.crt" ] || [ ! -s "$PKI/ca.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=kdb-local-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  rm -f "$PKI/apiserver.crt"
fi

if [ ! -s "$PKI/apiserver.crt" ] || [ ! -s "$PKI/apiserver.key" ]; then
  cat >"$PKI/apiserver.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EXT
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/apiserver.key" -out "$PKI/apiserver.csr" -subj "/CN=kube-apiserver" 2>/dev/null
  openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt" 2>/dev/null
  rm -f "$PKI/apiserver.csr"
fi

if [ ! -s "$PKI/sa.key" ] || [ ! -s "$PKI/sa.pub" ]; then
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi

# Static tokens: token,user,uid,"groups". `kdb-norights` authenticates but
# holds no role, for tests that RBAC denies what it should.
TOKENS="$STACK/tokens.csv"
if [ ! -s "$TOKENS" ]; then
  tok() { openssl rand -hex 24; }
  {
    echo "$(tok),admin,admin,\"system:masters\""
    echo "$(tok),system:kube-controller-manager,kube-controller-manager"
    echo "$(tok),system:kube-scheduler,kube-scheduler"
    echo "$(tok),nodesim,nodesim,\"system:masters\""
    echo "$(tok),kdb-norights,kdb-norights"
  } >"$TOKENS"
fi
token_of() { awk -F, -v u="$1" '$2 == u { print $1 }' "$TOKENS"; }

# Kubeconfigs embed the CA so they keep working if the folder moves.
ca_data="$(base64 -w0 <"$PKI/ca.crt")"
kubeconfig() { # file user
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: kdb-local
  cluster:
    server: https://127.0.0.1:$PORT_APISERVER
    certificate-authority-data: $ca_data
users:
- name: $2
  user:
    token: $(token_of "$2")
contexts:
- name: kdb-local
  context:
    cluster: kdb-local
    user: $2
    namespace: default
current-context: kdb-local
KC
}
kubeconfig "$STACK/kubeconfig" admin
kubeconfig "$PKI/kube-controller-manager.kubeconfig" system:kube-controller-manager
kubeconfig "$PKI/kube-scheduler.kubeconfig" system:kube-scheduler
kubeconfig "$PKI/nodesim.kubeconfig" nodesim
kubeconfig "$PKI/norights.kubeconfig" kdb-norights
