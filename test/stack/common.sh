# Shared by up.sh and down.sh (sourced, not run): paths of the local stack and
# the pid-file process helpers. Paths and ports are docs/contracts.md's.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="${KDB_STACK_DIR:-$REPO/.stack}"
PKI="$STACK/pki"
LOGS="$STACK/logs"
PIDS="$STACK/pids"
export PATH="$REPO/node_modules/.bin:$PATH"

PORT_ETCD=23790
PORT_ETCD_PEER=23800
PORT_APISERVER=16443
PORT_MOTO=15000
PORT_AWS=14566
PORT_FAULTS=14567

say() { echo "[stack] $*" >&2; }
die() { echo "[stack] ERROR: $*" >&2; exit 1; }

pidfile() { echo "$PIDS/$1.pid"; }

# Alive and not a zombie: an exited component stays a zombie until whoever
# adopted it reaps it, which can take a while.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# The pid of a component if its pid file names a live process that is still
# that component (the pid may have been reused since), else nothing.
live_pid() {
  local f pid
  f="$(pidfile "$1")"
  [ -f "$f" ] || return 1
  pid="$(cat "$f" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
  echo "$pid"
}

# Stops one component by its pid file: SIGTERM, wait up to $3 seconds, then
# SIGKILL. Components run in their own session (setsid), so the process
# group is theirs alone and also holds what they spawned (pods of nodesim).
stop_component() {
  local name="$1" match="$2" grace="${3:-10}" pid pgid i
  pid="$(live_pid "$name" "$match")" || { rm -f "$(pidfile "$name")"; return 0; }
  say "stopping $name (pid $pid)"
  pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    say "$name did not stop within ${grace}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # Leftover children in the component's own group (never ours: setsid made it).
  if [ -n "$pgid" ] && [ "$pgid" = "$pid" ]; then kill -KILL -- "-$pgid" 2>/dev/null || true; fi
  rm -f "$(pidfile "$name")"
}

# Components in start order, with the string that identifies their process.
COMPONENTS=("etcd:etcd --name kdb-local" kube-apiserver:kube-apiserver kube-controller-manager:kube-controller-manager
  kube-scheduler:kube-scheduler moto:moto_server fault-injector:fault-injector.ts nodesim:test/nodesim/main.ts)
