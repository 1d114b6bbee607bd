#!/usr/bin/env bash
# The Go agent (agent/), built to agent/bin/kdb-agent only when its sources
# changed since the last build: a hash of agent/'s Go sources and go.mod, kept
# beside the binary (a timestamp rule would rebuild on every checkout). Quiet
# when current, so callers can run it every time.
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
want=$(find agent -path agent/bin -prune -o -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ -x agent/bin/kdb-agent ] && [ "$(cat agent/bin/.sources-sha256 2>/dev/null)" = "$want" ]; then
  exit 0
fi
[ -x "$GO" ] || { echo "agent: go not found (looked on PATH and at /usr/local/go/bin/go); install Go 1.26 (https://go.dev/dl/) or set GO=/path/to/go" >&2; exit 1; }
mkdir -p agent/bin
(cd agent && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o bin/kdb-agent .) \
  || { echo "agent: go build failed (output above)" >&2; exit 1; }
echo "$want" > agent/bin/.sources-sha256
echo "agent: built agent/bin/kdb-agent"
