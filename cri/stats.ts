/**
 * Rows for `bosun cri stats` / `statsp`. CPU % needs two samples: the cumulative CPU time
 * difference over the wall-clock difference (containerd 1.6 reports usageNanoCores as 0 until it
 * has a sample of its own, so we do not rely on it).
 */
import { humanSize, truncateId } from './format.ts';
import type { ContainerStats, CpuUsage, PodSandboxStats } from './types.ts';

export function cpuPercent(before: CpuUsage | undefined, after: CpuUsage | undefined): number | undefined {
  const used = (after?.usageCoreNanoSeconds?.value ?? 0) - (before?.usageCoreNanoSeconds?.value ?? 0);
  const elapsed = (after?.timestamp ?? 0) - (before?.timestamp ?? 0);
  if (!before || !after || elapsed <= 0 || used < 0) return undefined;
  return (used / elapsed) * 100;
}

const percent = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2));

export const containerStatsHeader = ['CONTAINER', 'NAME', 'CPU %', 'MEM', 'DISK', 'INODES'];
export const podStatsHeader = ['POD', 'POD ID', 'CPU %', 'MEM'];

export function containerStatsRows(first: readonly ContainerStats[], second: readonly ContainerStats[], noTrunc = false): string[][] {
  const earlier = new Map(first.map((s) => [s.attributes?.id ?? '', s]));
  return [...second]
    .sort((a, b) => (a.attributes?.metadata?.name ?? '').localeCompare(b.attributes?.metadata?.name ?? ''))
    .map((s) => {
      const id = s.attributes?.id ?? '';
      return [
        noTrunc ? id : truncateId(id),
        s.attributes?.metadata?.name ?? '',
        percent(cpuPercent(earlier.get(id)?.cpu, s.cpu)),
        humanSize(s.memory?.workingSetBytes?.value ?? 0),
        humanSize(s.writableLayer?.usedBytes?.value ?? 0),
        String(s.writableLayer?.inodesUsed?.value ?? 0),
      ];
    });
}

export function podStatsRows(first: readonly PodSandboxStats[], second: readonly PodSandboxStats[], noTrunc = false): string[][] {
  const earlier = new Map(first.map((s) => [s.attributes?.id ?? '', s]));
  return [...second]
    .sort((a, b) => (a.attributes?.metadata?.name ?? '').localeCompare(b.attributes?.metadata?.name ?? ''))
    .map((s) => {
      const id = s.attributes?.id ?? '';
      return [
        s.attributes?.metadata?.name ?? '',
        noTrunc ? id : truncateId(id),
        percent(cpuPercent(earlier.get(id)?.linux?.cpu, s.linux?.cpu)),
        humanSize(s.linux?.memory?.workingSetBytes?.value ?? 0),
      ];
    });
}
