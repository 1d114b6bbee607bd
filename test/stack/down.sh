#!/usr/bin/env bash
# `make down`: stops the local stack by its pid files (SIGTERM, a grace
# period, then SIGKILL), node simulator first so it can stop its pods' processes
# while the API is still there, then removes the state folder. Harmless when
# nothing runs.
set -uo pipefail
source "$(dirname "$0")/common.sh"

if [ -d "$PIDS" ]; then
  # Pid files the stack did not write (an operator or a test process started
  # beside it) go first: they are clients of what follows.
  known=" $(for e in "${COMPONENTS[@]}"; do printf '%s ' "${e%%:*}"; done)"
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    name="$(basename "$f" .pid)"
    [[ "$known" == *" $name "* ]] || stop_component "$name" "" 15
  done
  # Reverse start order; the node simulator gets longer for its pods' grace periods.
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    entry="${COMPONENTS[$i]}"
    name="${entry%%:*}"
    grace=10
    [ "$name" = nodesim ] && grace=45
    stop_component "$name" "${entry#*:}" "$grace"
  done
fi

if [ -d "$STACK" ]; then
  rm -rf "$STACK"
  say "removed $STACK"
fi
