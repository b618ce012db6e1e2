/** `bosun cri version`, `info`, `inspect`, `inspectp`, `inspecti`. */
import { CriNotFoundError } from '../errors.ts';
import { resolveId } from '../resolve.ts';
import { callOptions, parseInfo, printDocument, type CriContext, type OutputFormat } from './context.ts';

/** `clientVersion`: bosun's own version, shown with -o json|yaml as crictl shows its own. */
export async function version(ctx: CriContext, args: { output: OutputFormat; clientVersion?: string }): Promise<void> {
  const v = await ctx.runtime.version(callOptions(ctx));
  if (args.output !== 'table') {
    await printDocument(ctx, args.output, {
      version: v.version,
      runtimeName: v.runtimeName,
      runtimeVersion: v.runtimeVersion,
      runtimeApiVersion: v.runtimeApiVersion,
      clientVersion: args.clientVersion,
    });
    return;
  }
  ctx.out.write(
    `Version:  ${v.version}\nRuntimeName:  ${v.runtimeName}\nRuntimeVersion:  ${v.runtimeVersion}\nRuntimeApiVersion:  ${v.runtimeApiVersion}\n`,
  );
}

/** Runtime status and its verbose info (config, CNI, ...), as crictl info shows it. */
export async function info(ctx: CriContext, args: { output: OutputFormat }): Promise<void> {
  const status = await ctx.runtime.status(true, callOptions(ctx));
  await printDocument(ctx, args.output, { status: status.status ?? {}, ...parseInfo(status.info) });
}

export async function resolveContainerId(ctx: CriContext, typed: string): Promise<string> {
  const all = await ctx.runtime.listContainers(undefined, callOptions(ctx));
  return resolveId(
    'container',
    typed,
    all.map((c) => ({ id: c.id, name: c.metadata?.name ?? '' })),
  );
}

export async function resolvePodId(ctx: CriContext, typed: string): Promise<string> {
  const all = await ctx.runtime.listPodSandbox(undefined, callOptions(ctx));
  return resolveId(
    'pod',
    typed,
    all.map((p) => ({ id: p.id, name: p.metadata?.name ?? '' })),
  );
}

/** An image by reference, full ID or ID prefix; returns its ID. */
export async function resolveImageId(ctx: CriContext, typed: string): Promise<string> {
  const direct = await ctx.runtime.imageStatus(typed, false, callOptions(ctx));
  if (direct.image) return direct.image.id;
  const all = await ctx.runtime.listImages(undefined, callOptions(ctx));
  if (/^(sha256:)?[0-9a-f]+$/.test(typed)) {
    return resolveId(
      'image',
      typed,
      all.map((i) => ({ id: i.id, name: i.repoTags[0] ?? '' })),
    );
  }
  throw new CriNotFoundError(`no image "${typed}"`);
}

// As crictl prints them: the status, then each verbose info entry (containerd's is "info", with
// the pid, the OCI spec, ...) at the top level of the document.
export async function inspect(ctx: CriContext, args: { ids: string[]; output: OutputFormat }): Promise<void> {
  for (const typed of args.ids) {
    const id = await resolveContainerId(ctx, typed);
    const res = await ctx.runtime.containerStatus(id, true, callOptions(ctx));
    await printDocument(ctx, args.output, { status: res.status, ...parseInfo(res.info) });
  }
}

export async function inspectp(ctx: CriContext, args: { ids: string[]; output: OutputFormat }): Promise<void> {
  for (const typed of args.ids) {
    const id = await resolvePodId(ctx, typed);
    const res = await ctx.runtime.podSandboxStatus(id, true, callOptions(ctx));
    await printDocument(ctx, args.output, { status: res.status, ...parseInfo(res.info) });
  }
}

export async function inspecti(ctx: CriContext, args: { ids: string[]; output: OutputFormat }): Promise<void> {
  for (const typed of args.ids) {
    const id = await resolveImageId(ctx, typed);
    const res = await ctx.runtime.imageStatus(id, true, callOptions(ctx));
    if (!res.image) throw new CriNotFoundError(`no image "${typed}"`);
    await printDocument(ctx, args.output, { status: res.image, ...parseInfo(res.info) });
  }
}
