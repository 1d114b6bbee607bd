#!/bin/sh
# Decodes the kdb+ licence from env into a writable folder named by QLIC, then
# runs q with the role's script: tick.q (tickerplant) or rdb.q (RDB).
#   KDB_LICENSE_B64    base64 of kc.lic  (kdb+ personal/commercial, newer)
#   KDB_K4LICENSE_B64  base64 of k4.lic  (classic)
# QLIC must be writable: the pods the operator makes have a read-only root file
# system and an emptyDir at /tmp, so QLIC is /tmp/kdb-licence. Never set -x here:
# the trace would print the licence.
set -eu
umask 077
: "${QLIC:=/tmp/kdb-licence}"
export QLIC
mkdir -p "$QLIC"
if [ -n "${KDB_LICENSE_B64:-}" ]; then
  printf '%s' "$KDB_LICENSE_B64" | base64 -d > "$QLIC/kc.lic"
elif [ -n "${KDB_K4LICENSE_B64:-}" ]; then
  printf '%s' "$KDB_K4LICENSE_B64" | base64 -d > "$QLIC/k4.lic"
elif [ ! -f "$QLIC/kc.lic" ] && [ ! -f "$QLIC/k4.lic" ]; then
  echo "no kdb+ licence: set KDB_LICENSE_B64 (kc.lic) or KDB_K4LICENSE_B64 (k4.lic)" >&2
  exit 2
fi
chmod 600 "$QLIC"/*.lic
# q needs only the file: the licence leaves the environment, so nothing that
# reads q's env (getenv over IPC, /proc/<pid>/environ) can see it.
unset KDB_LICENSE_B64 KDB_K4LICENSE_B64
# q reads local time from TZ: the end of day and the trading day follow KDB_TZ.
export TZ="${KDB_TZ:-UTC}"
role="${1:-tickerplant}"
shift || true
cd /opt/kdb-operator
case "$role" in
  tickerplant) exec q tick.q -p "${KDB_TP_PORT:-5010}" "$@" ;;
  rdb) exec q rdb.q -p "${KDB_QUERY_PORT:-5011}" "$@" ;;
  merge) exec q merge.q "$@" ;;
  hdb) exec q hdb.q -p "${KDB_HDB_PORT:-5012}" "$@" ;;
  *) echo "unknown role $role (tickerplant | rdb | merge | hdb)" >&2; exit 2 ;;
esac
