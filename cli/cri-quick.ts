/**
 * `bosun cri ps|pods|images|version|info` with plain flags, run without yargs: loading and
 * building yargs' parser for the cri command tree costs about a third of `bosun cri ps`'s CPU.
 *
 * The quick path reads a command line only when it knows every word of it, from the same option
 * records yargs is built from (cli/cri-options.ts). Anything else — help, completion, a flag it
 * does not know, a positional word, a value yargs would read otherwise (`--all false`, `-aq`, a
 * repeated flag, `--`) — is left to yargs, which owns every help text and usage error.
 */
import { listingSubcommands } from './cri.ts';
import { criGlobalOptions, type CriOption, type CriOptions } from './cri-options.ts';
import { ExitCode, reportFailure } from './exit.ts';

export interface QuickCommandLine {
  readonly subcommand: keyof typeof listingSubcommands;
  /** The arguments yargs would hand the subcommand's handler, under the options' own names. */
  readonly args: Readonly<Record<string, unknown>>;
}

const plainNumber = /^-?\d+(\.\d+)?$/;

/** The option `flag` names (`--name`, `-n`) among `options`, with its name. */
function optionNamed(flag: string, options: CriOptions): [string, CriOption] | undefined {
  if (flag.startsWith('--')) {
    const name = flag.slice(2);
    const option = Object.hasOwn(options, name) ? options[name] : undefined;
    return option ? [name, option] : undefined;
  }
  if (!/^-[A-Za-z]$/.test(flag)) return undefined;
  return Object.entries(options).find(([, option]) => option.alias === flag.slice(1));
}

/** A flag's value as yargs would read it, or undefined where the quick path does not decide. */
function valueOf(option: CriOption, text: string): unknown {
  if (text === '' || text.startsWith('-')) return undefined;
  if (option.choices && !option.choices.includes(text)) return undefined;
  if (option.type === 'number') return plainNumber.test(text) ? Number(text) : undefined;
  return text;
}

/**
 * The subcommand and arguments of `argv` (the words after `bosun`), or undefined when the command
 * line is not one the quick path reads.
 */
export function parseQuickCommandLine(argv: readonly string[]): QuickCommandLine | undefined {
  if (argv[0] !== 'cri') return undefined;
  let subcommand: keyof typeof listingSubcommands | undefined;
  let options: CriOptions = criGlobalOptions;
  const args: Record<string, unknown> = {};
  for (let i = 1; i < argv.length; i += 1) {
    const word = argv[i]!;
    if (!word.startsWith('-')) {
      if (subcommand !== undefined || !Object.hasOwn(listingSubcommands, word)) return undefined;
      subcommand = word as keyof typeof listingSubcommands;
      options = { ...criGlobalOptions, ...listingSubcommands[subcommand].options };
      continue;
    }
    const equals = word.startsWith('--') ? word.indexOf('=') : -1;
    const found = optionNamed(equals === -1 ? word : word.slice(0, equals), options);
    if (found === undefined) return undefined;
    const [name, option] = found;
    if (option.type === 'boolean') {
      // `--all=false` and `--all false` are yargs' to read
      const next = argv[i + 1];
      if (equals !== -1 || next === 'true' || next === 'false' || name in args) return undefined;
      args[name] = true;
      continue;
    }
    const text = equals === -1 ? argv[(i += 1)] : word.slice(equals + 1);
    const value = text === undefined ? undefined : valueOf(option, text);
    if (value === undefined) return undefined;
    if (option.array) args[name] = [...((args[name] as unknown[] | undefined) ?? []), value];
    else if (name in args) return undefined;
    else args[name] = value;
  }
  if (subcommand === undefined) return undefined;
  for (const [name, option] of Object.entries(options)) {
    if (!(name in args) && option.default !== undefined) args[name] = option.default;
  }
  return { subcommand, args };
}

/**
 * Runs `argv` on the quick path and gives its exit code, or undefined when yargs must read it.
 * Failures end as yargs' path ends them: one line on stderr and the exit code.
 */
export async function runQuickCommandLine(argv: readonly string[]): Promise<number | undefined> {
  const parsed = parseQuickCommandLine(argv);
  if (parsed === undefined) return undefined;
  try {
    // each subcommand's run takes the arguments its own options declare
    await (listingSubcommands[parsed.subcommand].run as (args: object) => Promise<void>)(parsed.args);
  } catch (err) {
    return reportFailure(err);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
}
