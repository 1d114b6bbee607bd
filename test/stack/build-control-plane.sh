#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
# and helm from source through the Go module proxy, into a cache keyed by
# version outside the checkout, so a fresh clone on the same machine reuses it.
#
# Why a wrapper module: `go install k8s.io/kubernetes/cmd/...` refuses modules
# with replace directives, and k8s.io/kubernetes points its staging modules at
# v0.0.0. We require k8s.io/kubernetes and replace each staging module with its
# published v0.X.Y release, the pattern scheduler-plugins uses.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v3.21.4}"
CACHE_ROOT="${KDB_STACK_CACHE:-$HOME/.cache/kdb-operator}"
BIN_DIR="$CACHE_ROOT/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"

say() { echo "[build-control-plane] $*" >&2; }
die() { echo "[build-control-plane] ERROR: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go toolchain not found on PATH; install Go >= 1.26 (https://go.dev/doc/install) and re-run."

want=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl helm)
missing=()
for b in "${want[@]}"; do [ -x "$BIN_DIR/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = "--print-dir" ] && echo "$BIN_DIR"
  exit 0
fi

mkdir -p "$BIN_DIR"
# One build at a time: a test asking for the folder while `make up` builds
# would otherwise build the same binary beside it and race for its rename.
exec 9>"$BIN_DIR/.build.lock"
flock 9
missing=()
for b in "${want[@]}"; do [ -x "$BIN_DIR/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = "--print-dir" ] && echo "$BIN_DIR"
  exit 0
fi
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
work="$CACHE_ROOT/work"
mkdir -p "$work"
start=$(date +%s)

build_etcd() {
  local d="$work/etcd-$ETCD_VERSION"
  mkdir -p "$d"
  cat >"$d/go.mod" <<MOD
module local/etcd-build

go 1.24
MOD
  (cd "$d" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 \
     && go build -trimpath -ldflags='-s -w' -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3 >&2) \
    || die "etcd build failed (see output above); check Go proxy access and free disk."
  mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
}

build_k8s() {
  local d="$work/k8s-$K8S_VERSION"
  mkdir -p "$d"
  local staging="v0.${K8S_VERSION#v1.}"
  local modfile
  modfile=$(cd "$d" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$modfile" ] || die "could not download k8s.io/kubernetes@$K8S_VERSION go.mod from the Go module proxy."
  {
    echo "module local/k8s-build"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$modfile" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } >"$d/go.mod"
  cat >"$d/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubectl/pkg/cmd"
)
GO
  (cd "$d" && go mod tidy -e >&2 || true)
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    say "building $c ($K8S_VERSION) ..."
    (cd "$d" && go build -trimpath -ldflags='-s -w' -o "$BIN_DIR/$c.tmp" "k8s.io/kubernetes/cmd/$c" >&2) \
      || die "$c build failed (see output above)."
    mv "$BIN_DIR/$c.tmp" "$BIN_DIR/$c"
    say "built $c after $(( $(date +%s) - start ))s"
  done
}

build_helm() {
  local d="$work/helm-$HELM_VERSION"
  mkdir -p "$d"
  cat >"$d/go.mod" <<MOD
module local/helm-build

go 1.26
MOD
  (cd "$d" && go get "helm.sh/helm/v3@$HELM_VERSION" >&2 \
     && go build -trimpath -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" -o "$BIN_DIR/helm.tmp" helm.sh/helm/v3/cmd/helm >&2) \
    || die "helm build failed (see output above)."
  mv "$BIN_DIR/helm.tmp" "$BIN_DIR/helm"
}

say "building into $BIN_DIR (missing: ${missing[*]}); a cold build takes tens of minutes on 2 cores"
[ -x "$BIN_DIR/etcd" ] || { say "building etcd $ETCD_VERSION ..."; build_etcd; say "built etcd after $(( $(date +%s) - start ))s"; }
if [ ! -x "$BIN_DIR/kube-apiserver" ] || [ ! -x "$BIN_DIR/kube-controller-manager" ] || [ ! -x "$BIN_DIR/kube-scheduler" ] || [ ! -x "$BIN_DIR/kubectl" ]; then
  build_k8s
fi
[ -x "$BIN_DIR/helm" ] || { say "building helm $HELM_VERSION ..."; build_helm; say "built helm after $(( $(date +%s) - start ))s"; }
say "done in $(( $(date +%s) - start ))s"
[ "${1:-}" = "--print-dir" ] && echo "$BIN_DIR"
exit 0
