/**
 * What the node planner needs to know about the host, read here and nowhere else.
 *
 * Two kinds: facts that do not change while the agent runs (cores, memory, identity, OS), read once
 * at start; and pressure signals (free memory, the filesystem under the agent's root folder,
 * process count), read every status round. Both come from files in /proc, /sys and /etc, where the
 * kubelet's cAdvisor reads them too: no process is started, so the agent's start does not wait on
 * dmidecode or lsb_release and the host's facts cost no extra module.
 */
import { readFile, readdir, statfs } from 'node:fs/promises';
import { arch, cpus, release } from 'node:os';

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
  const [online, meminfo, osRelease, machineID, productUUID, bootID, vendor, product, hugepages] = await Promise.all([
    readTrimmed('/sys/devices/system/cpu/online'),
    readTrimmed('/proc/meminfo'),
    readFirst(['/etc/os-release', '/usr/lib/os-release']),
    readFirst(['/etc/machine-id', '/var/lib/dbus/machine-id']),
    // readable by root only, as the kubelet runs
    readTrimmed('/sys/class/dmi/id/product_uuid'),
    readTrimmed('/proc/sys/kernel/random/boot_id'),
    readTrimmed('/sys/class/dmi/id/sys_vendor'),
    readTrimmed('/sys/class/dmi/id/product_name'),
    readHugepages(),
  ]);
  return {
    cpuCores: countCpuList(online) || cpus().length,
    memoryBytes: memTotalBytes(meminfo),
    hugepages,
    machineID,
    systemUUID: productUUID.toLowerCase() || machineID,
    bootID,
    kernelVersion: release(),
    osImage: prettyName(osRelease),
    operatingSystem: 'linux',
    architecture: archNames[arch()] ?? arch(),
    ...instanceTypeOf(vendor, product),
  };
}

/** The first of `paths` that holds something (os-release and machine-id each have a fallback). */
async function readFirst(paths: readonly string[]): Promise<string> {
  for (const path of paths) {
    const text = await readTrimmed(path);
    if (text !== '') return text;
  }
  return '';
}

/** How many CPUs a kernel CPU list names ("0-3,8,10-11" is 7): the online CPUs, as cAdvisor counts cores. */
export function countCpuList(list: string): number {
  let count = 0;
  for (const part of list.split(',')) {
    const range = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!range) continue;
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last >= first) count += last - first + 1;
  }
  return count;
}

/** MemTotal of /proc/meminfo in bytes (the node's memory capacity). */
export function memTotalBytes(meminfo: string): number {
  const total = /^MemTotal:\s+(\d+) kB$/m.exec(meminfo);
  return total ? Number(total[1]) * 1024 : 0;
}

/**
 * The OS image as the kubelet reports it: os-release's PRETTY_NAME ("Debian GNU/Linux 12
 * (bookworm)"), unquoted, or "Linux" when the file names none.
 */
export function prettyName(osRelease: string): string {
  const line = /^PRETTY_NAME=(.*)$/m.exec(osRelease);
  if (!line?.[1]) return 'Linux';
  const value = line[1].trim();
  const unquoted = /^(["'])(.*)\1$/.exec(value)?.[2] ?? value;
  return unquoted.replace(/\\(["'$`\\])/g, '$1') || 'Linux';
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
