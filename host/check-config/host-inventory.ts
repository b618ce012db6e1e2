/**
 * What `bosun check-config` looks at, gathered once: the kernel's build options and loaded modules,
 * filesystems, cgroups, swap, the iptables variant, the runtime's versions, the CNI plugins and the
 * ports bosun listens on. Reading is kept apart from judging (checks.ts) so that the judgement is a
 * pure function tested on facts of any host.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { release } from 'node:os';
import { readKernelConfig, type KernelConfig } from './kernel-config.ts';

export interface HostInventory {
  kernelRelease: string;
  /** The build configuration, when the kernel publishes it, and where it was read. */
  kernelConfig?: { config: KernelConfig; source: string } | undefined;
  /** Names under /sys/module: built-in code with parameters and every loaded module. */
  loadedModules: ReadonlySet<string>;
  /** Filesystem types the kernel knows now (/proc/filesystems). */
  filesystems: ReadonlySet<string>;
  cgroup: { version: 1 | 2; controllers: ReadonlySet<string> };
  /** Active swap areas, in KiB (0 when none). */
  swapKiB: number;
  /** What `iptables --version` says, undefined when there is no iptables command. */
  iptablesVersion?: string | undefined;
  containerdVersion?: string | undefined;
  runcVersion?: string | undefined;
  /** Folder → plugin names found there. */
  cniPlugins: ReadonlyMap<string, ReadonlySet<string>>;
  /** TCP ports in LISTEN state in this network namespace → the command names holding them. */
  listeningPorts: ReadonlyMap<number, readonly string[]>;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** cgroup v2 when the unified hierarchy is mounted at /sys/fs/cgroup, else the v1 controllers enabled. */
export function cgroupFacts(root = '/'): HostInventory['cgroup'] {
  const unified = readText(`${root}sys/fs/cgroup/cgroup.controllers`);
  if (unified !== undefined) return { version: 2, controllers: new Set(unified.trim().split(/\s+/).filter(Boolean)) };
  const controllers = new Set<string>();
  for (const line of (readText(`${root}proc/cgroups`) ?? '').split('\n')) {
    const [name, , , enabled] = line.trim().split(/\s+/);
    if (name === undefined || name.startsWith('#') || enabled !== '1') continue;
    controllers.add(name);
  }
  return { version: 1, controllers };
}

/** Sum of the sizes in /proc/swaps (header line skipped). */
export function swapKiB(procSwaps: string): number {
  let total = 0;
  for (const line of procSwaps.split('\n').slice(1)) {
    const size = Number(line.trim().split(/\s+/)[2]);
    if (Number.isFinite(size)) total += size;
  }
  return total;
}

/** Socket inode → port for sockets in LISTEN state (state 0A) in /proc/net/tcp{,6}. */
export function listeningSockets(procNetTcp: string): Map<string, number> {
  const sockets = new Map<string, number>();
  for (const line of procNetTcp.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[3] !== '0A') continue;
    const port = Number.parseInt(fields[1]?.split(':')[1] ?? '', 16);
    const inode = fields[9];
    if (Number.isFinite(port) && inode !== undefined) sockets.set(inode, port);
  }
  return sockets;
}

/** Which processes hold which listening ports: socket inodes matched against /proc/<pid>/fd links. */
function listeningPorts(root: string): Map<number, string[]> {
  const sockets = listeningSockets(
    `${readText(`${root}proc/net/tcp`) ?? ''}\n${(readText(`${root}proc/net/tcp6`) ?? '').split('\n').slice(1).join('\n')}`,
  );
  const holders = new Map<number, string[]>();
  for (const port of sockets.values()) holders.set(port, []);
  if (sockets.size === 0) return holders;
  for (const pid of listDir(`${root}proc`)) {
    if (!/^\d+$/.test(pid)) continue;
    for (const fd of listDir(`${root}proc/${pid}/fd`)) {
      let target: string;
      try {
        target = readlinkSync(`${root}proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const port = inode === undefined ? undefined : sockets.get(inode);
      if (port === undefined) continue;
      const name = (readText(`${root}proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ');
      const list = holders.get(port)!;
      if (!list.includes(name)) list.push(name);
    }
  }
  return holders;
}

/** The first line a command prints for its version, or undefined when it cannot run. */
function versionOf(command: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

export const cniFolders = ['/opt/cni/bin', '/usr/lib/cni', '/usr/libexec/cni'];

/** Reads this host. Spawns only the three version commands; everything else is /proc, /sys and files. */
export function readHostInventory(root = '/'): HostInventory {
  const kernelRelease = release();
  const cniPlugins = new Map<string, ReadonlySet<string>>();
  for (const folder of cniFolders) {
    const names = listDir(`${root}${folder.slice(1)}`);
    if (names.length > 0) cniPlugins.set(folder, new Set(names));
  }
  const filesystems = new Set(
    (readText(`${root}proc/filesystems`) ?? '')
      .split('\n')
      .map((line) => line.trim().split(/\s+/).pop() ?? '')
      .filter(Boolean),
  );
  return {
    kernelRelease,
    kernelConfig: readKernelConfig(kernelRelease, root),
    loadedModules: new Set(listDir(`${root}sys/module`)),
    filesystems,
    cgroup: cgroupFacts(root),
    swapKiB: swapKiB(readText(`${root}proc/swaps`) ?? ''),
    iptablesVersion: versionOf('iptables', ['--version']),
    containerdVersion: versionOf('containerd', ['--version']),
    runcVersion: versionOf('runc', ['--version']),
    cniPlugins,
    listeningPorts: listeningPorts(root),
  };
}
