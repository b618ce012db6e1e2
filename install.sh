#!/usr/bin/env bash
# Installs bosun on this Debian/Ubuntu amd64 host, as root:
#   - the Debian packages a node needs (containerd, runc, CNI plugins, iptables, conntrack, ...),
#   - bosun itself into /opt/bosun with its own Node 24 runtime, and /usr/local/bin/bosun.
# Safe to run again: it only adds what is missing and replaces bosun's own files.
set -euo pipefail

prefix=/opt/bosun
src=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)

say() { printf 'install.sh: %s\n' "$*"; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs system packages and /opt/bosun)"
[ "$(uname -m)" = x86_64 ] || fail "bosun supports amd64 hosts only; this one is $(uname -m)"
command -v apt-get >/dev/null 2>&1 || fail "this installer needs a Debian or Ubuntu host (apt-get not found)"

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) fail "unknown mode '${1}'; run install.sh with no arguments (see README.md)" ;;
esac

say "host packages"
"$src/scripts/host-packages.sh" runtime

say "bosun into $prefix"
mkdir -p "$prefix"
# copy the source tree (no state, no caches, no node_modules) and install runtime dependencies
tar -C "$src" --exclude=./node_modules --exclude=./.git --exclude=./.cache --exclude=./.state -cf - . | tar -C "$prefix" -xf -
(cd "$prefix" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
ln -sfn "$prefix/bin/bosun" /usr/local/bin/bosun
say "$(/usr/local/bin/bosun --version)"

cat <<'MSG'
install.sh: done. Installed: bosun (server, agent, cri, token, join, sandbox) and the host packages a
node needs (containerd, runc, CNI plugins, iptables, ipset, conntrack, ipvsadm, catatonit).
Not yet: this installer does not bring up the single-node cluster as services. A cluster on this
machine today, in network namespaces:  bosun sandbox up --nodes 2
(it prints a kubeconfig path for kubectl; bosun sandbox down removes it all).
MSG
