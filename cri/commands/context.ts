/**
 * What every `bosun cri` subcommand shares: finding the runtime, one client per run, printing in
 * the chosen format, and naming the runtime's real fault when a call fails.
 * Subcommand implementations take a CriContext, so tests can run them against the fake runtime.
 */
import { CriClient } from '../client.ts';
import { resolveEndpoint } from '../endpoint.ts';
import { CriError } from '../errors.ts';
import { renderTable } from '../format.ts';
import type { CriRuntime } from '../runtime.ts';
import { CommandError } from './command-error.ts';

export interface CriGlobalArgs {
  'runtime-endpoint'?: string | undefined;
  config?: string | undefined;
  /** Seconds, for inspection calls. */
  'request-timeout'?: number | undefined;
}

export interface Output {
  write(text: string | Uint8Array): unknown;
}

export interface CriContext {
  runtime: CriRuntime;
  out: Output;
  err: Output;
  now(): number;
  /** Per-call timeout from --timeout or the config file, if any. */
  timeoutMs?: number | undefined;
}

export type OutputFormat = 'table' | 'json' | 'yaml';

/**
 * A runtime that answers Unimplemented to a basic call most likely speaks an older CRI (containerd
 * 1.5 and older only have v1alpha2); ask its version so the user reads that, not a method name.
 */
export async function explainFailure(
  err: unknown,
  runtime: Pick<CriRuntime, 'version' | 'endpoint'> | undefined,
): Promise<unknown> {
  if (!(err instanceof CriError) || err.code !== 'BOSUN_CRI_UNIMPLEMENTED' || !runtime) return err;
  const { checkRuntimeVersion } = await import('../version-check.ts');
  try {
    await checkRuntimeVersion(runtime);
  } catch (versionErr) {
    if (versionErr instanceof CriError && versionErr.code === 'BOSUN_CRI_UNSUPPORTED_VERSION') return versionErr;
  }
  return err;
}

/** Connects to the runtime the flags/env/config name, runs `action`, and always closes. */
export async function withRuntime(args: CriGlobalArgs, action: (ctx: CriContext) => Promise<void>): Promise<void> {
  let runtime: CriClient | undefined;
  try {
    const resolved = resolveEndpoint({ endpoint: args['runtime-endpoint'], configFile: args.config });
    // a unix socket goes over Node's http2, which starts faster than grpc-js (bench/cri-cli.ts)
    runtime = new CriClient(resolved.endpoint);
    const seconds = args['request-timeout'];
    const timeoutMs = seconds !== undefined && seconds > 0 ? seconds * 1000 : resolved.timeoutMs;
    await action({ runtime, out: process.stdout, err: process.stderr, now: Date.now, timeoutMs });
  } catch (err) {
    throw await explainFailure(err, runtime);
  } finally {
    runtime?.close();
  }
}

/** Call options carrying the context's timeout, when one was given. */
export function callOptions(ctx: CriContext): { timeoutMs?: number } {
  return ctx.timeoutMs === undefined ? {} : { timeoutMs: ctx.timeoutMs };
}

export function usage(message: string): CommandError {
  return new CommandError(message, 2);
}

/** Prints `data` as JSON or YAML, or the table that `table()` builds. */
export async function printAs(
  ctx: CriContext,
  format: OutputFormat,
  data: unknown,
  table: () => { header: readonly string[]; rows: readonly (readonly string[])[] },
): Promise<void> {
  if (format === 'json') {
    ctx.out.write(`${JSON.stringify(data, null, 2)}\n`);
  } else if (format === 'yaml') {
    const yaml = (await import('js-yaml')).default;
    ctx.out.write(yaml.dump(data, { noRefs: true, lineWidth: -1 }));
  } else {
    const { header, rows } = table();
    ctx.out.write(renderTable(header, rows));
  }
}

/** Prints a document (inspect, info, version -o json). */
export async function printDocument(ctx: CriContext, format: OutputFormat, data: unknown): Promise<void> {
  await printAs(ctx, format === 'table' ? 'json' : format, data, () => ({ header: [], rows: [] }));
}

/** CRI's verbose `info` map holds JSON text; show it as data. */
export function parseInfo(info: Record<string, string>): Record<string, unknown> {
  const parsed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(info)) {
    try {
      parsed[key] = JSON.parse(value);
    } catch {
      parsed[key] = value;
    }
  }
  return parsed;
}
