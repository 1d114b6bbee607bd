#!/usr/bin/env bash
# npm packages, installed only when the lock file changed since the last install
# (a timestamp rule would reinstall under running processes whenever
# package.json is touched).
set -euo pipefail
cd "$(dirname "$0")/../.."
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x node_modules/.bin/node ] || [ "$(cat node_modules/.lock-sha256 2>/dev/null)" != "$want" ]; then
  command -v npm >/dev/null 2>&1 || { echo "deps: npm not found; install Node.js and npm (any version: the project brings its own Node 24)" >&2; exit 1; }
  npm ci --no-audit --no-fund
  echo "$want" > node_modules/.lock-sha256
fi
