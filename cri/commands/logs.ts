/** `bosun cri logs`: reads the container's CRI log file directly, as the kubelet does. */
import { readLog, parseSince } from '../logfile.ts';
import { CriNotFoundError } from '../errors.ts';
import { resolveContainerId } from './inspect.ts';
import { callOptions, usage, type CriContext } from './context.ts';

export interface LogsArgs {
  container: string;
  follow: boolean;
  tail: number;
  since?: string | undefined;
  timestamps: boolean;
}

export async function logs(ctx: CriContext, args: LogsArgs, signal?: AbortSignal): Promise<void> {
  let sinceMs: number | undefined;
  if (args.since !== undefined) {
    sinceMs = parseSince(args.since, ctx.now());
    if (sinceMs === undefined) throw usage(`--since ${args.since}: write a duration (30s, 5m, 1h) or an RFC 3339 time`);
  }
  const id = await resolveContainerId(ctx, args.container);
  const status = (await ctx.runtime.containerStatus(id, false, callOptions(ctx))).status;
  if (!status?.logPath) throw new CriNotFoundError(`container ${id.slice(0, 13)} has no log file`);
  try {
    await readLog(
      status.logPath,
      { stdout: ctx.out, stderr: ctx.err },
      {
        tail: args.tail,
        sinceMs,
        timestamps: args.timestamps,
        follow: args.follow,
        signal,
        stillWriting: async () =>
          (await ctx.runtime.containerStatus(id, false, callOptions(ctx))).status?.state === 'CONTAINER_RUNNING',
      },
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CriNotFoundError(`the log file of container ${id.slice(0, 13)} is missing: ${status.logPath}`);
    }
    throw err;
  }
}
