#!/bin/sh
# First process of every simulated container, run by `unshare -m -u` inside the
# container's own mount and UTS namespaces: it bind-mounts the pod's volumes at
# their real mount paths (invisible to every other process on the machine),
# sets the pod's hostname, then execs the container's command, so the image
# sees the paths and hostname it would see in a real pod.
# Usage: container-init.sh <mounts-file> <hostname> -- <command> [args...]
# mounts-file: one tab-separated line per mount: kind(dir|file) ro|rw source target,
# and lines `keep - path -` naming host folders the container's process itself
# needs (the repository with node and the image sources, the stack folder).
#
# A volume mounted over an ancestor of a kept folder (an emptyDir at /tmp
# while the repository is checked out under /tmp) would hide the program the
# container runs: the kept folder is bound into the volume first, at the same
# relative path, and the volume mounted with its submounts (--rbind).
set -e
mounts="$1"
echo "$2" > /proc/sys/kernel/hostname
shift 3
tab=$(printf '\t')
keeps=$(awk -F "$tab" '$1 == "keep" { print $3 }' "$mounts")
while IFS="$tab" read -r kind ro src dst; do
  [ -n "$dst" ] || continue
  [ "$kind" != keep ] || continue
  bind=--bind
  if [ "$kind" = file ]; then
    mkdir -p "$(dirname "$dst")"
    [ -e "$dst" ] || : > "$dst"
  else
    mkdir -p "$dst"
    while IFS= read -r keep; do
      case "$keep" in
        "$dst"/*)
          rel=${keep#"$dst"/}
          mkdir -p "$src/$rel"
          mount --bind "$keep" "$src/$rel"
          bind=--rbind
          ;;
      esac
    done <<KEPT
$keeps
KEPT
  fi
  mount "$bind" "$src" "$dst"
  if [ "$ro" = ro ]; then mount -o remount,bind,ro "$dst"; fi
done < "$mounts"
exec "$@"
