/** `bosun cri pull` and `rmi`. */
import { readFile } from 'node:fs/promises';
import { parsePodConfig } from '../config-file.ts';
import { CriNotFoundError } from '../errors.ts';
import { containerdRootFromInfo, ingestDir, renderProgressBar, scanIngest } from '../pull-progress.ts';
import type { AuthConfig, PodSandboxConfig } from '../types.ts';
import { resolveImageId } from './inspect.ts';
import { callOptions, usage, type CriContext } from './context.ts';

export interface PullArgs {
  image: string;
  creds?: string | undefined;
  auth?: string | undefined;
  'pod-config'?: string | undefined;
}

/** How progress is shown: a redrawn bar on a terminal, a line every few seconds otherwise. */
export interface ProgressDisplay {
  isTTY: boolean;
  intervalMs?: number;
}

function authFrom(args: PullArgs): AuthConfig | undefined {
  if (args.creds !== undefined) {
    const colon = args.creds.indexOf(':');
    if (colon <= 0) throw usage('--creds: write USERNAME:PASSWORD');
    return { username: args.creds.slice(0, colon), password: args.creds.slice(colon + 1) };
  }
  if (args.auth !== undefined) return { auth: args.auth };
  return undefined;
}

export async function pull(ctx: CriContext, args: PullArgs, display: ProgressDisplay): Promise<void> {
  const auth = authFrom(args);
  let sandboxConfig: PodSandboxConfig | undefined;
  if (args['pod-config']) {
    const path = args['pod-config'];
    sandboxConfig = parsePodConfig(
      await readFile(path, 'utf8').catch(() => {
        throw usage(`cannot read ${path}`);
      }),
      path,
    );
  }
  // Where containerd keeps downloads in flight; without it we still pull, with elapsed time only.
  const root = await ctx.runtime.status(true, callOptions(ctx)).then(
    (s) => containerdRootFromInfo(s.info),
    () => undefined,
  );
  const started = ctx.now();
  const interval = display.intervalMs ?? (display.isTTY ? 200 : 5000);
  let lastLength = 0;
  const show = async () => {
    const seconds = Math.round((ctx.now() - started) / 1000);
    const progress = root ? await scanIngest(ingestDir(root)) : undefined;
    const text = `${args.image}: ${progress && progress.layers > 0 ? renderProgressBar(progress) : 'waiting for the runtime'}  ${seconds}s`;
    if (display.isTTY) {
      ctx.err.write(`\r${text.padEnd(lastLength)}`);
      lastLength = text.length;
    } else {
      ctx.err.write(`${text}\n`);
    }
  };
  const timer = setInterval(() => void show(), interval);
  let imageRef: string;
  try {
    imageRef = await ctx.runtime.pullImage(args.image, auth, sandboxConfig);
  } finally {
    clearInterval(timer);
    if (display.isTTY && lastLength > 0) ctx.err.write(`\r${' '.repeat(lastLength)}\r`);
  }
  ctx.out.write(`Image is up to date for ${imageRef}\n`);
}

export interface RmiArgs {
  images: string[];
  all: boolean;
  prune: boolean;
}

/** Removes images by reference, ID or ID prefix; --all removes every image, --prune those no container uses. */
export async function rmi(ctx: CriContext, args: RmiArgs): Promise<void> {
  if (args.images.length === 0 && !args.all && !args.prune) throw usage('name an image, or use --all or --prune');
  const ids = new Set<string>();
  if (args.all || args.prune) {
    const [images, containers] = await Promise.all([
      ctx.runtime.listImages(undefined, callOptions(ctx)),
      ctx.runtime.listContainers(undefined, callOptions(ctx)),
    ]);
    const inUse = new Set(containers.map((c) => c.imageRef));
    for (const image of images) if (args.all || !inUse.has(image.id)) ids.add(image.id);
  }
  for (const typed of args.images) ids.add(await resolveImageId(ctx, typed));
  for (const id of ids) {
    const status = await ctx.runtime.imageStatus(id, false, callOptions(ctx));
    if (!status.image) throw new CriNotFoundError(`no image "${id}"`);
    await ctx.runtime.removeImage(id);
    for (const name of status.image.repoTags.length > 0 ? status.image.repoTags : [id])
      ctx.out.write(`Deleted: ${name}\n`);
  }
}
