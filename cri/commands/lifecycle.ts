/** `bosun cri runp|create|start|stop|stopp|rm|rmp`: crictl's lifecycle commands. Each prints the full IDs it acted on. */
import { readFile } from 'node:fs/promises';
import { parseContainerConfig, parsePodConfig } from '../config-file.ts';
import { resolveContainerId, resolvePodId } from './inspect.ts';
import { CommandError } from './command-error.ts';
import { callOptions, usage, type CriContext } from './context.ts';

async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw usage(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export async function runp(ctx: CriContext, args: { config: string; runtime?: string | undefined }): Promise<void> {
  const config = parsePodConfig(await readConfigFile(args.config), args.config);
  const id = await ctx.runtime.runPodSandbox(config, args.runtime ?? '');
  ctx.out.write(`${id}\n`);
}

export async function create(
  ctx: CriContext,
  args: { pod: string; 'container-config': string; 'pod-config': string; 'no-pull': boolean },
): Promise<void> {
  const container = parseContainerConfig(await readConfigFile(args['container-config']), args['container-config']);
  const sandbox = parsePodConfig(await readConfigFile(args['pod-config']), args['pod-config']);
  const podId = await resolvePodId(ctx, args.pod);
  // As crictl does: pull the image first when it is missing, unless told not to.
  if (!args['no-pull'] && !(await ctx.runtime.imageStatus(container.image.image, false, callOptions(ctx))).image) {
    await ctx.runtime.pullImage(container.image.image, undefined, sandbox);
  }
  const id = await ctx.runtime.createContainer(podId, container, sandbox);
  ctx.out.write(`${id}\n`);
}

export async function start(ctx: CriContext, args: { ids: string[] }): Promise<void> {
  for (const typed of args.ids) {
    const id = await resolveContainerId(ctx, typed);
    await ctx.runtime.startContainer(id);
    ctx.out.write(`${id}\n`);
  }
}

export async function stop(ctx: CriContext, args: { ids: string[]; timeout: number }): Promise<void> {
  if (args.ids.length === 0) throw usage('name at least one container');
  for (const typed of args.ids) {
    const id = await resolveContainerId(ctx, typed);
    await ctx.runtime.stopContainer(id, args.timeout);
    ctx.out.write(`${id}\n`);
  }
}

export async function stopp(ctx: CriContext, args: { ids: string[] }): Promise<void> {
  if (args.ids.length === 0) throw usage('name at least one pod');
  for (const typed of args.ids) {
    const id = await resolvePodId(ctx, typed);
    await ctx.runtime.stopPodSandbox(id);
    ctx.out.write(`Stopped sandbox ${id}\n`);
  }
}

export async function rm(ctx: CriContext, args: { ids: string[]; force: boolean; all: boolean }): Promise<void> {
  const ids: string[] = [];
  if (args.all) {
    const all = await ctx.runtime.listContainers(undefined, callOptions(ctx));
    ids.push(...all.filter((c) => args.force || c.state !== 'CONTAINER_RUNNING').map((c) => c.id));
  } else {
    if (args.ids.length === 0) throw usage('name at least one container, or use --all');
    for (const typed of args.ids) ids.push(await resolveContainerId(ctx, typed));
  }
  for (const id of ids) {
    const state = (await ctx.runtime.containerStatus(id, false, callOptions(ctx))).status?.state;
    if (state === 'CONTAINER_RUNNING') {
      if (!args.force) throw new CommandError(`container ${id.slice(0, 13)} is running: stop it first, or use --force`);
      await ctx.runtime.stopContainer(id, 0);
    }
    await ctx.runtime.removeContainer(id);
    ctx.out.write(`${id}\n`);
  }
}

export async function rmp(ctx: CriContext, args: { ids: string[]; force: boolean; all: boolean }): Promise<void> {
  const ids: string[] = [];
  if (args.all) {
    const all = await ctx.runtime.listPodSandbox(undefined, callOptions(ctx));
    ids.push(...all.filter((p) => args.force || p.state !== 'SANDBOX_READY').map((p) => p.id));
  } else {
    if (args.ids.length === 0) throw usage('name at least one pod, or use --all');
    for (const typed of args.ids) ids.push(await resolvePodId(ctx, typed));
  }
  for (const id of ids) {
    const state = (await ctx.runtime.podSandboxStatus(id, false, callOptions(ctx))).status?.state;
    if (state === 'SANDBOX_READY') {
      if (!args.force)
        throw new CommandError(`pod ${id.slice(0, 13)} is ready: stop it first (bosun cri stopp), or use --force`);
      await ctx.runtime.stopPodSandbox(id);
    }
    await ctx.runtime.removePodSandbox(id);
    ctx.out.write(`Removed sandbox ${id}\n`);
  }
}
