/**
 * The `--config` file of a daemon: read, size-checked, parsed as YAML and turned into flag values
 * that yargs applies under the command line (a flag given on the command line wins). One file holds
 * either flags as keys (k3s' config.yaml form, shared by server and agent) or one upstream
 * configuration kind the daemon reads (KubeletConfiguration, KubeProxyConfiguration).
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CliError } from '../exit.ts';
import { configError } from './config-error.ts';
import { flagValue, flagsFromDocument, type FlagValues } from './flag-file.ts';
import type { Argv } from 'yargs';
import { optionTableOf, type OptionTable } from './option-table.ts';
import { flagsFromUpstreamDocument, type DocumentSchema } from './upstream-document.ts';

export const defaultConfigFile = '/etc/bosun/config.yaml';
const maxConfigBytes = 1024 * 1024;

interface ConfigReader {
  /** `bosun agent`, for error lines. */
  command: string;
  here: () => OptionTable;
  /** Flags of the other daemons that read the same file. */
  elsewhere: () => ReadonlySet<string>;
  /** Upstream kinds this file may hold instead of flags. */
  kinds: readonly DocumentSchema[];
  /** Whether the file may hold flags as keys (else only one of `kinds`). */
  flagsAsKeys: boolean;
  /** A missing file at this path is no error (the default location). */
  optionalPath?: string;
}

// yargs calls the reader synchronously; js-yaml is loaded only when a daemon starts
const load = (text: string): unknown =>
  (createRequire(import.meta.url)('js-yaml') as typeof import('js-yaml')).load(text);

/** The flag values a config file sets, or the one line saying what is wrong with it. */
export function readConfigFile(path: string, reader: ConfigReader): FlagValues {
  let text: string;
  try {
    if (statSync(path).size > maxConfigBytes) throw configError(path, 'larger than 1 MiB; is it the right file?');
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (path === reader.optionalPath) return {};
      throw configError(path, 'no such file');
    }
    if ((err as NodeJS.ErrnoException).code !== undefined)
      throw configError(path, `cannot read it: ${(err as Error).message}`);
    throw err;
  }
  let document: unknown;
  try {
    document = load(text);
  } catch (err) {
    throw configError(path, `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (document === undefined || document === null) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw configError(path, 'expected a mapping of flag names to values (or a KubeletConfiguration)');
  }
  const record = document as Record<string, unknown>;
  const here = reader.here();
  if (record.kind !== undefined) {
    const schema = reader.kinds.find((kind) => kind.kind === record.kind);
    if (schema === undefined) {
      const kinds = reader.kinds.map((kind) => kind.kind);
      throw configError(
        path,
        `kind ${JSON.stringify(record.kind)} is not read by ${reader.command}${kinds.length > 0 ? ` (it reads ${kinds.join(', ')}, or flags as keys)` : ' (it reads flags as keys)'}`,
      );
    }
    const values = flagsFromUpstreamDocument(path, record, schema);
    for (const [flag, value] of Object.entries(values))
      values[flag] = flagValue(path, flag, here.get(flag) ?? 'string', value);
    return values;
  }
  if (!reader.flagsAsKeys) {
    throw configError(path, `expected a ${reader.kinds.map((kind) => kind.kind).join(' or ')} (apiVersion and kind)`);
  }
  return flagsFromDocument(path, record, here, reader.elsewhere(), reader.command).values;
}

/** Adds a config-file flag to a daemon's command: `--config FILE` read under the command line. */
export function withConfigFile<T>(
  y: Argv<T>,
  flag: 'config' | 'proxy-config',
  describe: string,
  reader: Omit<ConfigReader, 'here'>,
): Argv<T> {
  const withFlag = y.option(flag, {
    type: 'string',
    describe,
    ...(reader.optionalPath === undefined ? {} : { default: reader.optionalPath }),
  }) as Argv<T>;
  return withFlag.config(flag, describe, (path: string) => {
    try {
      return readConfigFile(path, { ...reader, here: () => optionTableOf(withFlag) });
    } catch (err) {
      // yargs passes on only the message of what a config reader throws: the line keeps its exit code
      if (err instanceof CliError) refusedConfigs.set(err.message, err);
      throw err;
    }
  });
}

const refusedConfigs = new Map<string, CliError>();

/** The error a config reader threw, for the message yargs passed on in its place. */
export function refusedConfig(message: string): CliError | undefined {
  return refusedConfigs.get(message);
}
