#!/usr/bin/env bash
# Builds (once) the Debian 12 root that test/install/systemd-real.test.ts boots with systemd as
# PID 1 under systemd-nspawn, and prints its path. The root holds systemd, dbus and the runtime
# packages install.sh wants, so that install.sh finds them present and needs no network inside.
# It is cached under $BOSUN_SYSTEMD_ROOT_CACHE (default /var/cache/bosun/systemd-root), in a folder
# named by a hash of the package list: a changed list builds a new root, an unchanged one costs
# nothing. Older roots are removed once the new one is complete. Debian 12, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${BOSUN_SYSTEMD_ROOT_CACHE:-/var/cache/bosun/systemd-root}
suite=bookworm
# the mirror apt uses on this host (deb822 or one-line sources), Debian's own otherwise
mirror=$(grep -hvE '^[[:space:]]*#' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
  grep -oE 'https?://[^ ]+/debian/?' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

packages=(systemd systemd-sysv dbus libpam-systemd busybox-static $(./scripts/host-packages.sh --list runtime))
list=$(printf '%s\n' "$suite" "${packages[@]}" | sort -u)
key=$(printf '%s' "$list" | sha256sum | cut -c1-16)
target=$cache/$key

if [ -f "$target/.complete" ]; then
  echo "$target"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "systemd-root: run as root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null 2>&1 || { echo "systemd-root: debootstrap is missing (scripts/host-packages.sh test installs it)" >&2; exit 1; }

mkdir -p "$cache"
work=$cache/.building-$key
rm -rf "$work"
echo "systemd-root: debootstrap $suite from $mirror into $target (once; later runs reuse it)" >&2
include=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$include" "$suite" "$work" "$mirror" >"$cache/.debootstrap-$key.log" 2>&1 || {
  echo "systemd-root: debootstrap failed; the last lines of $cache/.debootstrap-$key.log:" >&2
  tail -20 "$cache/.debootstrap-$key.log" >&2
  exit 1
}
# Debian enables these services; under test only the units install.sh starts should run
rm -f "$work"/etc/systemd/system/multi-user.target.wants/containerd.service
# the root's own name, not the name of the host that built it (it names the test's node)
echo bosun-node >"$work/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tbosun-node\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$work/etc/hosts"
# an empty machine-id: systemd makes a fresh one at each boot of a copy
: >"$work/etc/machine-id"
echo "$list" >"$work/.packages"
touch "$work/.complete"
rm -rf "$target"
mv "$work" "$target"
for old in "$cache"/*; do
  [ "$old" = "$target" ] || rm -rf "$old"
done
rm -f "$cache"/.debootstrap-*.log
echo "$target"
