/**
 * `/etc/bosun/config.yaml`, as k3s reads its config.yaml: every flag of `bosun server` and `bosun
 * agent` as a key (`max-pods: 50`, `node-labels: [a=b]`), flags on the command line override the
 * file. Both daemons read the same file: a key of the other daemon is skipped, a key neither takes is
 * an error (a typo must not be silently ignored), and a value of the wrong type names the key.
 */
import type { FlagKind, OptionTable } from './option-table.ts';
import { configError } from './config-error.ts';

export type FlagValues = Record<string, string | number | boolean | string[]>;

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** A file value as the flag takes it, or an error line naming the key. */
export function flagValue(
  file: string,
  key: string,
  kind: FlagKind,
  value: unknown,
): string | number | boolean | string[] {
  const shown = JSON.stringify(value);
  switch (kind) {
    case 'number': {
      const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
      if (!Number.isFinite(number)) throw configError(file, `${key}: expected a number, got ${shown}`);
      return number;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw configError(file, `${key}: expected true or false, got ${shown}`);
    case 'list': {
      const items = Array.isArray(value) ? value : [value];
      const texts = items.map(scalarText);
      if (texts.some((text) => text === undefined))
        throw configError(file, `${key}: expected a list of strings, got ${shown}`);
      return texts as string[];
    }
    case 'string': {
      const text = scalarText(value);
      if (text === undefined) throw configError(file, `${key}: expected a string, got ${shown}`);
      return text;
    }
  }
}

interface FlagFileResult {
  values: FlagValues;
  /** Keys of the other daemon, skipped here. */
  skipped: string[];
}

/**
 * The values of a flat config document for one command. `elsewhere` holds the flags of the other
 * daemons that read the same file.
 */
export function flagsFromDocument(
  file: string,
  document: Record<string, unknown>,
  here: OptionTable,
  elsewhere: ReadonlySet<string>,
  command: string,
): FlagFileResult {
  const values: FlagValues = {};
  const skipped: string[] = [];
  for (const [key, value] of Object.entries(document)) {
    const kind = here.get(key);
    if (kind === undefined) {
      if (elsewhere.has(key)) {
        skipped.push(key);
        continue;
      }
      throw configError(file, `unknown key "${key}": it is not a flag of ${command} or of another bosun daemon`);
    }
    if (value === null || value === undefined) continue;
    values[key] = flagValue(file, key, kind, value);
  }
  return { values, skipped };
}
