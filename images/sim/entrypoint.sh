#!/bin/sh
# Node sizes its heap from the machine, not from the container's memory limit:
# without a cap, garbage piles up past the limit and the RDB is OOM-killed
# long before its data fills it. Cap the heap at half the limit the RDB is
# given, and exec so that node is the container's only process.
dir=$(dirname "$0")
if [ -n "${KDB_MEMORY_LIMIT_BYTES:-}" ]; then
  exec node --max-old-space-size=$((KDB_MEMORY_LIMIT_BYTES * 5 / 10 / 1048576)) "$dir/src/main.ts" "$@"
fi
exec node "$dir/src/main.ts" "$@"
