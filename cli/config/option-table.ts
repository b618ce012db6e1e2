/**
 * What a command's flags accept, read from the command's own yargs definition, so that a config
 * file is checked against exactly the flags the command line takes (no second list to keep up).
 */
import type { Argv, CommandModule } from 'yargs';
import yargs from 'yargs';

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

/** The flags of another command, from its builder run on an empty command line. */
export function optionTableOfCommand(command: CommandModule<object, never>): OptionTable {
  const builder = command.builder as ((y: Argv<object>) => Argv<unknown>) | undefined;
  const y = yargs([]);
  return optionTableOf(builder === undefined ? y : builder(y));
}
