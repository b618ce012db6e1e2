/**
 * Argument typing that yargs cannot infer from a command string, in one place so every builder
 * stays typed (no casts in the commands themselves).
 */
import type { Argv, PositionalOptions } from 'yargs';

/**
 * A positional that the command string marks required (`<name>` or `<name..>`): yargs refuses the
 * command line without it before any handler runs, which its types cannot see from the string.
 */
export function requiredPositional<T, K extends string>(
  y: Argv<T>,
  key: K,
  options: PositionalOptions & { type: 'string'; array?: false },
): Argv<Omit<T, K> & { [k in K]: string }>;
export function requiredPositional<T, K extends string>(
  y: Argv<T>,
  key: K,
  options: PositionalOptions & { type: 'string'; array: true },
): Argv<Omit<T, K> & { [k in K]: string[] }>;
export function requiredPositional<T, K extends string>(y: Argv<T>, key: K, options: PositionalOptions): Argv<unknown> {
  return y.positional(key, options);
}

/** What came after `--` (yargs' populate-- puts it beside the arguments, outside their types). */
export function afterDashes(args: object): string[] {
  const rest: unknown = (args as { '--'?: unknown })['--'];
  return Array.isArray(rest) ? rest.map(String) : [];
}
