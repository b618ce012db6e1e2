/** `bosun cri stats` and `statsp`: resource use from two samples `--seconds` apart. */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseLabelPairs } from '../listing.ts';
import { containerStatsHeader, containerStatsRows, podStatsHeader, podStatsRows } from '../stats.ts';
import type { ContainerStatsFilter, PodSandboxStatsFilter } from '../types.ts';
import { resolveContainerId, resolvePodId } from './inspect.ts';
import { callOptions, printAs, usage, type CriContext, type OutputFormat } from './context.ts';

export interface StatsArgs {
  ids: string[];
  pod?: string | undefined;
  label: string[];
  output: OutputFormat;
  seconds: number;
  'no-trunc': boolean;
  /** stats only: include containers that are not running (containerd reports them too). */
  all?: boolean;
}

function labelSelector(pairs: string[]): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const labels = parseLabelPairs(pairs);
  if ('invalid' in labels) throw usage(`--label ${labels.invalid}: write key=value`);
  return labels;
}

export async function stats(ctx: CriContext, args: StatsArgs): Promise<void> {
  if (args.ids.length > 1) throw usage('stats takes at most one container ID (use --pod or --label for more)');
  const filter: ContainerStatsFilter = {};
  if (args.ids[0]) filter.id = await resolveContainerId(ctx, args.ids[0]);
  if (args.pod) filter.podSandboxId = await resolvePodId(ctx, args.pod);
  const labels = labelSelector(args.label);
  if (labels) filter.labelSelector = labels;
  const sample = async () => {
    const [stats, running] = await Promise.all([
      ctx.runtime.listContainerStats(filter, callOptions(ctx)),
      args.all ? undefined : ctx.runtime.listContainers({ state: { state: 'CONTAINER_RUNNING' } }, callOptions(ctx)),
    ]);
    if (!running) return stats;
    const ids = new Set(running.map((c) => c.id));
    return stats.filter((s) => ids.has(s.attributes?.id ?? ''));
  };
  const first = await sample();
  const second = args.seconds > 0 ? (await sleep(args.seconds * 1000), await sample()) : first;
  await printAs(ctx, args.output, { stats: second }, () => ({
    header: containerStatsHeader,
    rows: containerStatsRows(first, second, args['no-trunc']),
  }));
}

export async function statsp(ctx: CriContext, args: StatsArgs): Promise<void> {
  if (args.ids.length > 1) throw usage('statsp takes at most one pod ID (use --label for more)');
  const filter: PodSandboxStatsFilter = {};
  if (args.ids[0]) filter.id = await resolvePodId(ctx, args.ids[0]);
  const labels = labelSelector(args.label);
  if (labels) filter.labelSelector = labels;
  const first = await ctx.runtime.listPodSandboxStats(filter, callOptions(ctx));
  const second =
    args.seconds > 0
      ? (await sleep(args.seconds * 1000), await ctx.runtime.listPodSandboxStats(filter, callOptions(ctx)))
      : first;
  await printAs(ctx, args.output, { stats: second }, () => ({
    header: podStatsHeader,
    rows: podStatsRows(first, second, args['no-trunc']),
  }));
}
