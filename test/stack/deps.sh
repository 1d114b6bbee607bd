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
# Python packages in .venv, pinned by test/stack/requirements.txt: moto for the
# local stack, cfn-lint for the template test (test/unit/aws-template.test.ts,
# which runs before any stack exists). Same stamp as test/stack/up.sh, so
# whichever runs first installs it and the other finds it current.
want_py=$(sha256sum test/stack/requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.kdb-requirements 2>/dev/null)" != "$want_py" ] || [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/cfn-lint ]; then
  command -v python3 >/dev/null 2>&1 || { echo "deps: python3 not found; install Python >= 3.9 with venv (apt-get install python3 python3-venv)" >&2; exit 1; }
  [ -x .venv/bin/python ] || python3 -m venv .venv \
    || { echo "deps: python3 -m venv failed; install the venv module (apt-get install python3-venv)" >&2; exit 1; }
  .venv/bin/pip install --quiet --disable-pip-version-check -r test/stack/requirements.txt \
    || { echo "deps: pip could not install test/stack/requirements.txt into .venv (output above); check PyPI access" >&2; exit 1; }
  echo "$want_py" > .venv/.kdb-requirements
fi
# The Go agent beside every RDB pod (agent/), rebuilt only when its sources change.
bash test/stack/agent.sh || { echo "deps: building the agent failed (output above)" >&2; exit 1; }
# A real Prometheus for the metrics test (test/integration/prometheus.test.ts),
# cached outside the checkout. Not fatal: only that test needs it, and it
# says how to get one.
bash test/stack/prometheus.sh >/dev/null \
  || echo "deps: no Prometheus (output above); test/integration/prometheus.test.ts will fail until test/stack/prometheus.sh succeeds or KDB_PROMETHEUS is set" >&2
