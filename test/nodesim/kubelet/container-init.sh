#!/bin/sh
# First process of every simulated container, run by `unshare -m -u` inside the
# container's own mount and UTS namespaces: it bind-mounts the pod's volumes at
# their real mount paths (invisible to every other process on the machine),
# sets the pod's hostname, then execs the container's command, so the image
# sees the paths and hostname it would see in a real pod.
# Usage: container-init.sh <mounts-file> <hostname> -- <command> [args...]
# mounts-file: one tab-separated line per mount: kind(dir|file) ro|rw source target
set -e
mounts="$1"
echo "$2" > /proc/sys/kernel/hostname
shift 3
tab=$(printf '\t')
while IFS="$tab" read -r kind ro src dst; do
  [ -n "$dst" ] || continue
  if [ "$kind" = file ]; then
    mkdir -p "$(dirname "$dst")"
    [ -e "$dst" ] || : > "$dst"
  else
    mkdir -p "$dst"
  fi
  mount --bind "$src" "$dst"
  if [ "$ro" = ro ]; then mount -o remount,bind,ro "$dst"; fi
done < "$mounts"
exec "$@"
