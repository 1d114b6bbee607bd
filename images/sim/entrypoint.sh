#!/bin/sh
# Node sizes its heap from the machine, not from the container's memory limit:
# without a cap, garbage piles up past the limit and the RDB is OOM-killed
# long before its data fills it. Cap the heap at half the limit the RDB is
# given, and exec so that node is the container's only process.
dir=$(dirname "$0")
#
# The young generation is capped too (2 MiB semi-spaces): an RDB's heap is
# long-lived columns, and a young generation grown to V8's default under the
# allocation burst of an end-of-day flush took the resident size of an RDB
# at its roll threshold from 163 to 257 MiB, past a 256 MiB limit (measured:
# 516,136 rows, 145 MiB with the cap).
if [ -n "${KDB_MEMORY_LIMIT_BYTES:-}" ]; then
  exec node --max-old-space-size=$((KDB_MEMORY_LIMIT_BYTES * 5 / 10 / 1048576)) --max-semi-space-size=2 "$dir/src/main.ts" "$@"
fi
exec node "$dir/src/main.ts" "$@"
