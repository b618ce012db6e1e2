/**
 * /stats/summary (upstream's stats/v1alpha1 Summary) and what /metrics/resource is built from:
 * the node from the host's /proc and the root dir's filesystem, pods and containers from CRI
 * (ListPodSandboxStats where the runtime has it, ListContainerStats otherwise). Pure assembly
 * (summarize) is separate from reading (observeStats), so the shape is tested without a host.
 */
import { readFile, statfs } from 'node:fs/promises';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { ContainerStats, PodSandboxStats } from '../../cri/types.ts';
import type { Pod } from '../../kube/corev1.ts';
import { criLabel } from '../pods/cri-labels.ts';
import { apiTime } from '../../kube/api-time.ts';
import type { VolumeUsage } from './volume-stats.ts';

type Any = Record<string, any>;

export interface HostSample {
  timeMs: number;
  /** Busy CPU time of all cores since boot (from /proc/stat), in nanoseconds. */
  cpuUsageCoreNanoSeconds: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  memFreeBytes: number;
  interfaces: { name: string; rxBytes: number; txBytes: number; rxErrors: number; txErrors: number }[];
  fs: { capacityBytes: number; availableBytes: number; usedBytes: number; inodes: number; inodesFree: number };
  bootTimeMs: number;
}

interface StatsInput {
  nodeName: string;
  host: HostSample;
  /** The previous host sample, for a CPU rate (usageNanoCores). */
  previousHost: HostSample | undefined;
  pods: readonly Pod[];
  sandboxStats: readonly PodSandboxStats[];
  containerStats: readonly ContainerStats[];
  /** Usage of the pods' persistent volumes (volume-stats.ts); absent: none. */
  volumes?: readonly VolumeUsage[];
}

const USER_HZ_NS = 1e9 / 100;

function parseProcStat(text: string): { busyNs: number; bootTimeMs: number } {
  const cpu =
    text
      .split('\n')
      .find((l) => l.startsWith('cpu '))
      ?.trim()
      .split(/\s+/)
      .slice(1)
      .map(Number) ?? [];
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  const busy = cpu.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + (v || 0)), 0);
  const btime = Number(/^btime (\d+)/m.exec(text)?.[1] ?? 0);
  return { busyNs: busy * USER_HZ_NS, bootTimeMs: btime * 1000 };
}

function parseMeminfo(text: string): { total: number; available: number; free: number } {
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { total: kb('MemTotal'), available: kb('MemAvailable'), free: kb('MemFree') };
}

function parseNetDev(text: string): HostSample['interfaces'] {
  return text
    .split('\n')
    .slice(2)
    .filter((l) => l.includes(':'))
    .map((line) => {
      const [name, rest] = line.split(':') as [string, string];
      const f = rest.trim().split(/\s+/).map(Number);
      return { name: name.trim(), rxBytes: f[0] ?? 0, rxErrors: f[2] ?? 0, txBytes: f[8] ?? 0, txErrors: f[10] ?? 0 };
    })
    .filter((i) => i.name !== 'lo');
}

async function sampleHost(rootDir: string, nowMs: number): Promise<HostSample> {
  const [stat, meminfo, netdev, fs] = await Promise.all([
    readFile('/proc/stat', 'utf8'),
    readFile('/proc/meminfo', 'utf8'),
    readFile('/proc/net/dev', 'utf8').catch(() => ''),
    statfs(rootDir),
  ]);
  const cpu = parseProcStat(stat);
  const mem = parseMeminfo(meminfo);
  return {
    timeMs: nowMs,
    cpuUsageCoreNanoSeconds: cpu.busyNs,
    memTotalBytes: mem.total,
    memAvailableBytes: mem.available,
    memFreeBytes: mem.free,
    interfaces: parseNetDev(netdev),
    fs: {
      capacityBytes: fs.blocks * fs.bsize,
      availableBytes: fs.bavail * fs.bsize,
      usedBytes: (fs.blocks - fs.bfree) * fs.bsize,
      inodes: fs.files,
      inodesFree: fs.ffree,
    },
    bootTimeMs: cpu.bootTimeMs,
  };
}

const nsToIso = (ns: number | undefined, fallbackMs: number) => apiTime(ns ? Math.floor(ns / 1e6) : fallbackMs);
const v = (x: { value: number } | undefined) => (x === undefined ? undefined : Number(x.value));

function cpuOf(usage: ContainerStats['cpu'], nowMs: number): Any | undefined {
  if (!usage) return undefined;
  return {
    time: nsToIso(usage.timestamp, nowMs),
    usageNanoCores: v(usage.usageNanoCores),
    usageCoreNanoSeconds: v(usage.usageCoreNanoSeconds),
  };
}

function memoryOf(usage: ContainerStats['memory'], nowMs: number): Any | undefined {
  if (!usage) return undefined;
  return {
    time: nsToIso(usage.timestamp, nowMs),
    availableBytes: v(usage.availableBytes),
    usageBytes: v(usage.usageBytes),
    workingSetBytes: v(usage.workingSetBytes),
    rssBytes: v(usage.rssBytes),
    pageFaults: v(usage.pageFaults),
    majorPageFaults: v(usage.majorPageFaults),
  };
}

/**
 * When a pod's containers started, by name, from the status the agent reported (a restart moves
 * it); a container not running yet falls back to the pod's own start.
 */
function containerStarts(pod: Pod): (name: string) => string | undefined {
  const started = new Map<string, string>();
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const at = status.state?.running?.startedAt;
    if (at) started.set(status.name, at);
  }
  return (name) => started.get(name) ?? pod.status?.startTime;
}

function containerEntry(stats: ContainerStats, nowMs: number, startedAt: (name: string) => string | undefined): Any {
  const name = stats.attributes?.metadata?.name ?? stats.attributes?.labels[criLabel.containerName] ?? '';
  const rootfs = stats.writableLayer
    ? {
        time: nsToIso(stats.writableLayer.timestamp, nowMs),
        usedBytes: v(stats.writableLayer.usedBytes),
        inodesUsed: v(stats.writableLayer.inodesUsed),
      }
    : undefined;
  return {
    name,
    startTime: startedAt(name) ?? apiTime(nowMs),
    cpu: cpuOf(stats.cpu, nowMs),
    memory: memoryOf(stats.memory, nowMs),
    rootfs,
  };
}

function sum(values: (number | undefined)[]): number | undefined {
  const known = values.filter((x): x is number => x !== undefined);
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0);
}

/** The Summary object (stats/v1alpha1), from one sample of everything. */
export function summarize(input: StatsInput): Any {
  const { host, previousHost } = input;
  const now = host.timeMs;
  const elapsedNs = previousHost ? (host.timeMs - previousHost.timeMs) * 1e6 : 0;
  const nanoCores =
    previousHost && elapsedNs > 0
      ? Math.round(((host.cpuUsageCoreNanoSeconds - previousHost.cpuUsageCoreNanoSeconds) / elapsedNs) * 1e9)
      : undefined;
  const nodeMemoryUsed = host.memTotalBytes - host.memFreeBytes;
  const node = {
    nodeName: input.nodeName,
    startTime: apiTime(host.bootTimeMs),
    cpu: { time: apiTime(now), usageNanoCores: nanoCores, usageCoreNanoSeconds: host.cpuUsageCoreNanoSeconds },
    memory: {
      time: apiTime(now),
      availableBytes: host.memAvailableBytes,
      usageBytes: nodeMemoryUsed,
      workingSetBytes: host.memTotalBytes - host.memAvailableBytes,
    },
    network: {
      time: apiTime(now),
      ...(host.interfaces[0]
        ? { name: host.interfaces[0].name, rxBytes: host.interfaces[0].rxBytes, txBytes: host.interfaces[0].txBytes }
        : {}),
      interfaces: host.interfaces,
    },
    fs: {
      time: apiTime(now),
      availableBytes: host.fs.availableBytes,
      capacityBytes: host.fs.capacityBytes,
      usedBytes: host.fs.usedBytes,
      inodesFree: host.fs.inodesFree,
      inodes: host.fs.inodes,
      inodesUsed: host.fs.inodes - host.fs.inodesFree,
    },
  };
  const sandboxByUid = new Map(input.sandboxStats.map((s) => [s.attributes?.labels[criLabel.podUid] ?? '', s]));
  const pods = input.pods.map((pod) => {
    const uid = pod.metadata.uid ?? '';
    const sandbox = sandboxByUid.get(uid);
    const containers = (
      sandbox?.linux?.containers.length
        ? sandbox.linux.containers
        : input.containerStats.filter((c) => c.attributes?.labels[criLabel.podUid] === uid)
    ).map((c) => containerEntry(c, now, containerStarts(pod)));
    const cpu = sandbox?.linux?.cpu
      ? cpuOf(sandbox.linux.cpu, now)
      : {
          time: apiTime(now),
          usageNanoCores: sum(containers.map((c) => c.cpu?.usageNanoCores)),
          usageCoreNanoSeconds: sum(containers.map((c) => c.cpu?.usageCoreNanoSeconds)),
        };
    const memory = sandbox?.linux?.memory
      ? memoryOf(sandbox.linux.memory, now)
      : {
          time: apiTime(now),
          usageBytes: sum(containers.map((c) => c.memory?.usageBytes)),
          workingSetBytes: sum(containers.map((c) => c.memory?.workingSetBytes)),
          rssBytes: sum(containers.map((c) => c.memory?.rssBytes)),
        };
    const net = sandbox?.linux?.network;
    const network = net
      ? {
          time: nsToIso(net.timestamp, now),
          ...(net.defaultInterface
            ? {
                name: net.defaultInterface.name,
                rxBytes: v(net.defaultInterface.rxBytes),
                txBytes: v(net.defaultInterface.txBytes),
              }
            : {}),
          interfaces: net.interfaces.map((i) => ({
            name: i.name,
            rxBytes: v(i.rxBytes),
            txBytes: v(i.txBytes),
            rxErrors: v(i.rxErrors),
            txErrors: v(i.txErrors),
          })),
        }
      : undefined;
    return {
      podRef: { name: pod.metadata.name, namespace: pod.metadata.namespace ?? 'default', uid },
      startTime: pod.status?.startTime ?? apiTime(now),
      containers,
      cpu,
      memory,
      ...(network ? { network } : {}),
      'ephemeral-storage': { time: apiTime(now), usedBytes: sum(containers.map((c) => c.rootfs?.usedBytes)) ?? 0 },
      ...volumeEntries(input.volumes ?? [], uid, now),
      ...(sandbox?.linux?.process?.processCount
        ? { process_stats: { process_count: v(sandbox.linux.process.processCount) } }
        : {}),
    };
  });
  return { node, pods };
}

/** A pod's `volume` list as upstream's summary has it: one entry per claim, with its pvcRef. */
function volumeEntries(volumes: readonly VolumeUsage[], uid: string, now: number): { volume?: Any[] } {
  const mine = volumes.filter((v) => v.podUid === uid);
  if (mine.length === 0) return {};
  return {
    volume: mine.map((v) => ({
      time: apiTime(now),
      availableBytes: v.availableBytes,
      capacityBytes: v.capacityBytes,
      usedBytes: v.usedBytes,
      inodesFree: v.inodesFree,
      inodes: v.inodes,
      inodesUsed: v.inodesUsed,
      name: v.volume,
      pvcRef: { name: v.claim, namespace: v.namespace },
    })),
  };
}

/** Samples everything once; ListPodSandboxStats is optional in a runtime (older ones lack it). */
export async function observeStats(options: {
  nodeName: string;
  rootDir: string;
  runtime: Pick<CriRuntime, 'listPodSandboxStats' | 'listContainerStats'>;
  pods: readonly Pod[];
  previousHost: HostSample | undefined;
  nowMs: number;
  volumes?: () => Promise<readonly VolumeUsage[]>;
}): Promise<StatsInput> {
  const [host, sandboxStats, containerStats, volumes] = await Promise.all([
    sampleHost(options.rootDir, options.nowMs),
    options.runtime.listPodSandboxStats({}).catch(() => [] as PodSandboxStats[]),
    options.runtime.listContainerStats({}).catch(() => [] as ContainerStats[]),
    options.volumes?.().catch(() => [] as VolumeUsage[]) ?? [],
  ]);
  return {
    nodeName: options.nodeName,
    host,
    previousHost: options.previousHost,
    pods: options.pods,
    sandboxStats,
    containerStats,
    volumes,
  };
}
