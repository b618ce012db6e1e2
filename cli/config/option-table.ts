/**
 * What a command's flags accept, read from the command's own yargs definition, so that a config
 * file is checked against exactly the flags the command line takes (no second list to keep up).
 */
import type { Argv, Options } from 'yargs';

export type FlagKind = 'string' | 'number' | 'boolean' | 'list';

/** Flag name → what it takes. A list flag is a string flag whose default is a list (listOption). */
export type OptionTable = ReadonlyMap<string, FlagKind>;

interface YargsOptions {
  key: Record<string, boolean>;
  number: string[];
  boolean: string[];
  default: Record<string, unknown>;
}

const notFromFiles = new Set(['help', 'version', 'config', 'proxy-config']);

export function optionTableOf(y: Argv<unknown>): OptionTable {
  // getOptions() is yargs' own accessor of what the builder declared; its typings leave it out
  const options = (y as unknown as { getOptions(): YargsOptions }).getOptions();
  const table = new Map<string, FlagKind>();
  for (const name of Object.keys(options.key)) {
    if (notFromFiles.has(name)) continue;
    if (options.number.includes(name)) table.set(name, 'number');
    else if (options.boolean.includes(name)) table.set(name, 'boolean');
    else if (Array.isArray(options.default[name])) table.set(name, 'list');
    else table.set(name, 'string');
  }
  return table;
}

/**
 * The same table from a command's option records, as yargs would register them (the kinds of
 * optionTableOf), for a reader that does not load yargs.
 */
export function optionTableOfRecords(records: Readonly<Record<string, Options>>): OptionTable {
  const table = new Map<string, FlagKind>();
  for (const [name, option] of Object.entries(records)) {
    if (notFromFiles.has(name)) continue;
    if (option.type === 'number') table.set(name, 'number');
    else if (option.type === 'boolean') table.set(name, 'boolean');
    else if (Array.isArray(option.default)) table.set(name, 'list');
    else table.set(name, 'string');
  }
  return table;
}
