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

/** The second sample's entries by name, each with its CPU % against the same entry in the first. */
function withCpu<S extends { attributes?: { id: string; metadata?: { name: string } } }>(
  first: readonly S[],
  second: readonly S[],
  cpuOf: (sample: S) => CpuUsage | undefined,
): { sample: S; id: string; cpu: string }[] {
  const earlier = new Map(first.map((sample) => [sample.attributes?.id ?? '', sample]));
  return [...second]
    .sort((a, b) => (a.attributes?.metadata?.name ?? '').localeCompare(b.attributes?.metadata?.name ?? ''))
    .map((sample) => {
      const id = sample.attributes?.id ?? '';
      const before = earlier.get(id);
      return { sample, id, cpu: percent(cpuPercent(before && cpuOf(before), cpuOf(sample))) };
    });
}

export function containerStatsRows(
  first: readonly ContainerStats[],
  second: readonly ContainerStats[],
  noTrunc = false,
): string[][] {
  return withCpu(first, second, (s) => s.cpu).map(({ sample, id, cpu }) => [
    noTrunc ? id : truncateId(id),
    sample.attributes?.metadata?.name ?? '',
    cpu,
    humanSize(sample.memory?.workingSetBytes?.value ?? 0),
    humanSize(sample.writableLayer?.usedBytes?.value ?? 0),
    String(sample.writableLayer?.inodesUsed?.value ?? 0),
  ]);
}

export function podStatsRows(
  first: readonly PodSandboxStats[],
  second: readonly PodSandboxStats[],
  noTrunc = false,
): string[][] {
  return withCpu(first, second, (s) => s.linux?.cpu).map(({ sample, id, cpu }) => [
    sample.attributes?.metadata?.name ?? '',
    noTrunc ? id : truncateId(id),
    cpu,
    humanSize(sample.linux?.memory?.workingSetBytes?.value ?? 0),
  ]);
}
