#!/usr/bin/env bash
# A real Prometheus for test/integration/prometheus.test.ts: Debian's package
# (apt-get download + dpkg -x: no root, no install), unpacked once into the
# stack's cache outside the checkout. Prints the binary's path on its last
# line. KDB_PROMETHEUS=/path/to/prometheus uses a binary you already have.
#
# Another source, if apt cannot reach Debian: a build from the Go module
# proxy, `GOBIN=<dir> go install github.com/prometheus/prometheus/cmd/prometheus@v0.54.1`
# (Prometheus 2.54.1; slow on 2 cores, no web UI assets, the HTTP API works),
# then KDB_PROMETHEUS=<dir>/prometheus.
set -euo pipefail
if [ -n "${KDB_PROMETHEUS:-}" ]; then
  "$KDB_PROMETHEUS" --version >/dev/null 2>&1 || { echo "prometheus: KDB_PROMETHEUS=$KDB_PROMETHEUS does not run (--version failed)" >&2; exit 1; }
  echo "$KDB_PROMETHEUS"
  exit 0
fi
# Debian 12's package; bump together with the cache folder it names.
VERSION="${KDB_PROMETHEUS_DEB_VERSION:-2.42.0+ds-5+deb12u1}"
CACHE_ROOT="${KDB_STACK_CACHE:-$HOME/.cache/kdb-operator}"
DIR="$CACHE_ROOT/bin/prometheus-$VERSION"
say() { echo "[prometheus] $*" >&2; }
if [ ! -x "$DIR/prometheus" ]; then
  command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 \
    || { say "ERROR: needs apt-get and dpkg (Debian/Ubuntu) to fetch Debian's prometheus package; or set KDB_PROMETHEUS to a prometheus binary (see this script's header for a Go build)"; exit 1; }
  mkdir -p "$CACHE_ROOT/bin"
  tmp="$(mktemp -d "$CACHE_ROOT/bin/.prometheus-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  say "fetching Debian's prometheus $VERSION ..."
  # apt-get download works as any user; it warns when _apt cannot write the folder, which is harmless.
  (cd "$tmp" && apt-get download "prometheus=$VERSION" >&2) \
    || { say "ERROR: apt-get download prometheus=$VERSION failed (output above); try apt-get update, or set KDB_PROMETHEUS_DEB_VERSION to what apt-cache policy prometheus offers"; exit 1; }
  dpkg -x "$tmp"/prometheus_*.deb "$tmp/root"
  "$tmp/root/usr/bin/prometheus" --version >/dev/null 2>&1 || { say "ERROR: the unpacked prometheus does not run here"; exit 1; }
  mkdir -p "$tmp/out"
  cp "$tmp/root/usr/bin/prometheus" "$tmp/root/usr/bin/promtool" "$tmp/out/"
  # One rename: a concurrent run finds either nothing or the whole folder.
  mv -T "$tmp/out" "$DIR" 2>/dev/null || [ -x "$DIR/prometheus" ]
  say "prometheus in $DIR"
fi
echo "$DIR/prometheus"
