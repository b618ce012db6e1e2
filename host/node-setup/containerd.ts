/**
 * One containerd per sandbox node: its own root, state, socket, CNI configuration and IPAM folder,
 * started inside the node's network namespace with `nsenter --net` (not `ip netns exec`, which
 * would give it a fresh /sys without cgroup mounts).
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../process/run.ts';
import { waitFor } from '../process/wait.ts';
import { isOurs, startDaemon } from '../process/process.ts';

export interface ContainerdLayout {
  dir: string;
  root: string;
  state: string;
  socket: string;
  config: string;
  cniConfDir: string;
  cniDataDir: string;
  registryConfigDir: string;
  log: string;
}

export function containerdLayout(dir: string): ContainerdLayout {
  return {
    dir,
    root: join(dir, 'containerd', 'root'),
    state: join(dir, 'containerd', 'state'),
    socket: join(dir, 'containerd', 'containerd.sock'),
    config: join(dir, 'containerd', 'config.toml'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    cniDataDir: join(dir, 'cni', 'ipam'),
    registryConfigDir: join(dir, 'containerd', 'certs.d'),
    log: join(dir, 'containerd.log'),
  };
}

interface ContainerdSettings {
  layout: ContainerdLayout;
  sandboxImage: string;
  /** runc's SystemdCgroup option: must match the agent's --cgroup-driver (default cgroupfs). */
  cgroupDriver?: 'cgroupfs' | 'systemd';
}

export function renderContainerdConfig(s: ContainerdSettings): string {
  const { layout } = s;
  return `version = 2
root = ${JSON.stringify(layout.root)}
state = ${JSON.stringify(layout.state)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${JSON.stringify(layout.socket)}

[ttrpc]
  address = ${JSON.stringify(`${layout.socket}.ttrpc`)}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(s.sandboxImage)}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${JSON.stringify(layout.cniConfDir)}
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = ${s.cgroupDriver === 'systemd'}
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ${JSON.stringify(layout.registryConfigDir)}
`;
}

export function writeContainerdFiles(s: ContainerdSettings): void {
  const { layout } = s;
  for (const dir of [layout.root, layout.state, layout.cniConfDir, layout.cniDataDir, layout.registryConfigDir]) {
    mkdirSync(dir, { recursive: true });
  }
  // the CNI conflist is the agent's: it writes it once the control plane gives the node a podCIDR
  writeFileSync(layout.config, renderContainerdConfig(s));
}

/** Starts containerd in the namespace, waits until it answers on its socket, returns its PID. */
export async function startContainerd(
  netns: string | undefined,
  layout: Pick<ContainerdLayout, 'config' | 'socket' | 'log'>,
): Promise<number> {
  const pid = startDaemon({ argv: ['containerd', '--config', layout.config], netns, log: layout.log });
  await waitFor(
    async () => {
      if (!isOurs(pid, layout.config)) throw new Error(`containerd exited before it was ready; see ${layout.log}`);
      if (!existsSync(layout.socket)) return false;
      const result = await run(['ctr', '--address', layout.socket, 'version'], { timeoutMs: 5_000 });
      return result.code === 0;
    },
    { what: `containerd answering on ${layout.socket}`, timeoutMs: 30_000, intervalMs: 50 },
  );
  return pid;
}

/** The text that identifies this node's containerd in its command line. */
export function containerdMarker(layout: ContainerdLayout): string {
  return layout.config;
}

export async function importImage(layout: Pick<ContainerdLayout, 'socket'>, archivePath: string): Promise<void> {
  const result = await run(['ctr', '--address', layout.socket, '-n', 'k8s.io', 'images', 'import', archivePath], {
    timeoutMs: 60_000,
  });
  if (result.code !== 0) {
    throw new Error(`ctr images import ${archivePath} failed: ${(result.stderr || result.stdout).trim()}`);
  }
}
