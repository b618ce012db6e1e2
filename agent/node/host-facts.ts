/**
 * What the node planner needs to know about the host, read here and nowhere else.
 *
 * Two kinds: facts that do not change while the agent runs (cores, memory, identity, OS), read once
 * at start with systeminformation; and pressure signals (free memory, the filesystem under the
 * agent's root folder, process count), read every status round from /proc and statfs because
 * they are cheap there and a status round must not spawn processes.
 */
import { readFile, readdir, statfs } from 'node:fs/promises';
import { arch } from 'node:os';
import si from 'systeminformation';

export interface HostFacts {
  cpuCores: number;
  memoryBytes: number;
  /** Bytes held by huge pages, by page size as the API names it ('2Mi', '1Gi'). */
  hugepages: Record<string, number>;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  operatingSystem: string;
  /** GOARCH spelling (amd64, arm64), as kubernetes.io/arch wants it. */
  architecture: string;
  /** The cloud instance type when the firmware names it (node.kubernetes.io/instance-type). */
  instanceType?: string;
}

/** The filesystem a pressure signal is read from, and what it holds. */
interface FilesystemSignal {
  /** Mount point holding the folder we asked about. */
  mount: string;
  capacityBytes: number;
  availableBytes: number;
  inodes: number;
  inodesFree: number;
}

export interface PressureSignals {
  memoryAvailableBytes: number;
  /** The filesystem under the agent's root folder (the kubelet's nodefs). */
  nodefs: FilesystemSignal;
  pidMax: number;
  pidsInUse: number;
}

const archNames: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

async function readTrimmed(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return '';
  }
}

/** Huge pages reserved on the host, per page size ('hugepages-2048kB' holds nr_hugepages). */
async function readHugepages(): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  let dirs: string[] = [];
  try {
    dirs = await readdir('/sys/kernel/mm/hugepages');
  } catch {
    return sizes;
  }
  for (const dir of dirs) {
    const match = /^hugepages-(\d+)kB$/.exec(dir);
    if (!match) continue;
    const kib = Number(match[1]);
    const count = Number(await readTrimmed(`/sys/kernel/mm/hugepages/${dir}/nr_hugepages`)) || 0;
    const name =
      kib % (1024 * 1024) === 0 ? `${kib / (1024 * 1024)}Gi` : kib % 1024 === 0 ? `${kib / 1024}Mi` : `${kib}Ki`;
    sizes[name] = count * kib * 1024;
  }
  return sizes;
}

export async function readHostFacts(): Promise<HostFacts> {
  const [cpu, mem, os, uuid, system, bootID, hugepages] = await Promise.all([
    si.cpu(),
    si.mem(),
    si.osInfo(),
    si.uuid(),
    si.system(),
    readTrimmed('/proc/sys/kernel/random/boot_id'),
    readHugepages(),
  ]);
  const machineID = (await readTrimmed('/etc/machine-id')) || uuid.os;
  return {
    cpuCores: cpu.cores,
    memoryBytes: mem.total,
    hugepages,
    machineID,
    systemUUID: system.uuid || uuid.hardware || machineID,
    bootID,
    kernelVersion: os.kernel,
    osImage: [os.distro, os.release, os.codename ? `(${os.codename})` : ''].filter((p) => p !== '').join(' '),
    operatingSystem: 'linux',
    architecture: archNames[arch()] ?? arch(),
    ...instanceTypeOf(system.manufacturer, system.model),
  };
}

/**
 * The instance type, read from the firmware's (DMI) vendor and product name where a cloud puts it
 * there: EC2 Nitro instances report vendor "Amazon EC2" and the type ("m5.large") as the product.
 * Other clouds keep it in their metadata service, which the agent does not call; there the
 * operator can set it with --node-labels. Without a cloud provider the kubelet sets nothing either.
 */
export function instanceTypeOf(vendor: string, product: string): { instanceType?: string } {
  if (vendor.trim() === 'Amazon EC2' && /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(product.trim()))
    return { instanceType: product.trim() };
  return {};
}

/** The mount point holding `path`: the longest mount prefix in /proc/self/mountinfo. */
async function mountOf(path: string): Promise<string> {
  const text = await readTrimmed('/proc/self/mountinfo');
  let best = '/';
  for (const line of text.split('\n')) {
    // field 5 is the mount point (octal escapes for spaces)
    const mount = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (mount === undefined) continue;
    const inside = path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);
    if (inside && mount.length > best.length) best = mount;
  }
  return best;
}

async function nearestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    try {
      await statfs(current);
      return current;
    } catch {
      const parent = current.replace(/\/[^/]*$/, '') || '/';
      if (parent === current) return '/';
      current = parent;
    }
  }
}

export async function readPressureSignals(rootDir: string): Promise<PressureSignals> {
  const folder = await nearestExisting(rootDir);
  const [meminfo, fs, mount, pidMax, loadavg] = await Promise.all([
    readTrimmed('/proc/meminfo'),
    statfs(folder),
    mountOf(folder),
    readTrimmed('/proc/sys/kernel/pid_max'),
    readTrimmed('/proc/loadavg'),
  ]);
  const available = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo);
  // /proc/loadavg's fourth field is running/total tasks (threads), the kubelet's pid count too
  const tasks = /\s\d+\/(\d+)\s/.exec(loadavg);
  return {
    memoryAvailableBytes: available ? Number(available[1]) * 1024 : 0,
    nodefs: {
      mount,
      capacityBytes: fs.blocks * fs.bsize,
      availableBytes: fs.bavail * fs.bsize,
      inodes: fs.files,
      inodesFree: fs.ffree,
    },
    pidMax: Number(pidMax) || 32_768,
    pidsInUse: tasks ? Number(tasks[1]) : 0,
  };
}
