/** `bosun cri ps`, `pods` and `images`: crictl's tables, with filters that hold in every format. */
import {
  containerHeader,
  containerRows,
  filterContainers,
  filterImages,
  filterPods,
  imageHeaderFor,
  imageRows,
  parseContainerState,
  parseLabelPairs,
  parsePodState,
  podHeader,
  podRows,
} from '../listing.ts';
import { resolveId } from '../resolve.ts';
import type { ContainerFilter, ContainerState, PodSandbox, PodSandboxFilter } from '../types.ts';
import { callOptions, printAs, usage, type CriContext, type OutputFormat } from './context.ts';

export interface ListArgs {
  output: OutputFormat;
  quiet: boolean;
  'no-trunc': boolean;
  id?: string | undefined;
  name?: string | undefined;
  namespace?: string | undefined;
  label: string[];
  state?: string | undefined;
  latest: boolean;
  last: number;
}

export interface PsArgs extends ListArgs {
  all: boolean;
  pod?: string | undefined;
  image?: string | undefined;
}

export interface ImagesArgs {
  output: OutputFormat;
  quiet: boolean;
  'no-trunc': boolean;
  digests: boolean;
  ref?: string | undefined;
}

function labelsOf(args: ListArgs): Record<string, string> | undefined {
  if (args.label.length === 0) return undefined;
  const labels = parseLabelPairs(args.label);
  if ('invalid' in labels) throw usage(`--label ${labels.invalid}: write key=value`);
  return labels;
}

function checkRegex(flag: string, pattern: string | undefined): void {
  if (pattern === undefined) return;
  try {
    new RegExp(pattern);
  } catch {
    throw usage(`--${flag} ${pattern}: not a valid regular expression`);
  }
}

export async function ps(ctx: CriContext, args: PsArgs): Promise<void> {
  checkRegex('name', args.name);
  checkRegex('namespace', args.namespace);
  const labels = labelsOf(args);
  let state: ContainerState | undefined = args.all ? undefined : 'CONTAINER_RUNNING';
  if (args.state !== undefined) {
    state = parseContainerState(args.state);
    if (!state) throw usage(`--state ${args.state}: use created, running, exited or unknown`);
  }
  const options = callOptions(ctx);
  // The sandbox list gives POD/NAMESPACE when labels lack them, and resolves --pod; fetch both at once.
  const sandboxesPromise = ctx.runtime.listPodSandbox(undefined, options);
  const filter: ContainerFilter = {
    ...(state ? { state: { state } } : {}),
    ...(labels ? { labelSelector: labels } : {}),
    ...(args.id ? { id: args.id } : {}),
  };
  let podId: string | undefined;
  let containersPromise;
  if (args.pod) {
    const sandboxes = await sandboxesPromise;
    podId = resolveId(
      'pod',
      args.pod,
      sandboxes.map((p) => ({ id: p.id, name: p.metadata?.name ?? '' })),
    );
    containersPromise = ctx.runtime.listContainers({ ...filter, podSandboxId: podId }, options);
  } else {
    containersPromise = ctx.runtime.listContainers(filter, options);
  }
  const [sandboxList, containerList] = await Promise.all([sandboxesPromise, containersPromise]);
  const sandboxes = new Map<string, PodSandbox>(sandboxList.map((p) => [p.id, p]));
  const containers = filterContainers(containerList, sandboxes, {
    podId,
    state,
    name: args.name,
    namespace: args.namespace,
    labels,
    image: args.image,
    latest: args.latest,
    last: args.last,
  });
  if (args.quiet) {
    ctx.out.write(containers.map((c) => `${c.id}\n`).join(''));
    return;
  }
  await printAs(ctx, args.output, { containers }, () => ({
    header: containerHeader,
    rows: containerRows(containers, sandboxes, ctx.now(), args['no-trunc']),
  }));
}

export async function pods(ctx: CriContext, args: ListArgs): Promise<void> {
  checkRegex('name', args.name);
  checkRegex('namespace', args.namespace);
  const labels = labelsOf(args);
  let state;
  if (args.state !== undefined) {
    state = parsePodState(args.state);
    if (!state) throw usage(`--state ${args.state}: use ready or notready`);
  }
  const filter: PodSandboxFilter = {
    ...(state ? { state: { state } } : {}),
    ...(labels ? { labelSelector: labels } : {}),
    ...(args.id ? { id: args.id } : {}),
  };
  const items = filterPods(await ctx.runtime.listPodSandbox(filter, callOptions(ctx)), {
    state,
    name: args.name,
    namespace: args.namespace,
    labels,
    latest: args.latest,
    last: args.last,
  });
  if (args.quiet) {
    ctx.out.write(items.map((p) => `${p.id}\n`).join(''));
    return;
  }
  await printAs(ctx, args.output, { items }, () => ({
    header: podHeader,
    rows: podRows(items, ctx.now(), args['no-trunc']),
  }));
}

export async function images(ctx: CriContext, args: ImagesArgs): Promise<void> {
  const list = filterImages(await ctx.runtime.listImages(undefined, callOptions(ctx)), args.ref);
  if (args.quiet) {
    ctx.out.write([...new Set(list.map((i) => i.id))].map((id) => `${id}\n`).join(''));
    return;
  }
  const options = { noTrunc: args['no-trunc'], digests: args.digests };
  await printAs(ctx, args.output, { images: list }, () => ({
    header: imageHeaderFor(options),
    rows: imageRows(list, options),
  }));
}
