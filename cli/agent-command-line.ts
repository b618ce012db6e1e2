/**
 * `bosun agent` with plain flags, read without yargs: what systemd (`bosun agent $BOSUN_AGENT_ARGS`)
 * and `bosun join` run. yargs is the largest package the agent would otherwise keep for its whole
 * life just to read its command line once.
 *
 * The reader takes a command line only when it knows every word of it, from the same records yargs
 * is built from (cli/agent-flags.ts): `--flag value`, `--flag=value`, booleans (`--flag`,
 * `--no-flag`, `--flag=true|false`), plain numbers, list flags (comma-separated, repeatable),
 * choices, defaults, and the `--config`/`--proxy-config` files, which it reads with the same reader
 * yargs calls. Anything else — help, `--version`, a flag it does not know, a positional word, `--`,
 * a value yargs reads its own way (`--flag false`, `--max-pods 0x10`, a repeated plain flag), a
 * config file it cannot take whole (a key of bosun server, any error) — is left to yargs, which owns
 * every help text and usage error.
 */
import type { Options } from 'yargs';
import { agentConfigFileFlags, agentFlags, type AgentArgs } from './agent-flags.ts';
import { readConfigFile } from './config/daemon-config.ts';
import { optionTableOfRecords } from './config/option-table.ts';
import type { FlagValues } from './config/flag-file.ts';
import { ExitCode, reportFailure } from './exit.ts';
import { listItems } from './list-flag.ts';

type Records = Readonly<Record<string, Options>>;

/** The option fields this reader understands; a record with any other field leaves every command line to yargs. */
const understoodFields = new Set(['type', 'default', 'describe', 'defaultDescription', 'choices', 'coerce']);

/** Whether every record is one this reader reads as yargs does. */
export function readableRecords(records: Records): boolean {
  return Object.values(records).every(
    (option) =>
      Object.keys(option).every((field) => understoodFields.has(field)) &&
      (option.type === 'string' || option.type === 'number' || option.type === 'boolean') &&
      (option.coerce === undefined || (option.coerce === listItems && option.type === 'string')),
  );
}

const isList = (option: Options): boolean => option.coerce === listItems;
const plainNumber = /^\d+(\.\d+)?$/;

/** A flag's value as yargs reads it, or undefined where this reader does not decide. */
function valueOf(option: Options, text: string): string | number | undefined {
  if (option.type === 'number') return plainNumber.test(text) ? Number(text) : undefined;
  if (option.choices !== undefined && !(option.choices as readonly unknown[]).includes(text)) return undefined;
  return text;
}

/** The words of a command line by flag: each flag's values as given, in order. */
function givenValues(words: readonly string[], records: Records): Map<string, unknown[]> | undefined {
  const given = new Map<string, unknown[]>();
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i]!;
    let name: string;
    let inline: string | undefined;
    if (word.startsWith('--')) {
      const equals = word.indexOf('=');
      name = word.slice(2, equals === -1 ? undefined : equals);
      inline = equals === -1 ? undefined : word.slice(equals + 1);
    } else if (/^-[A-Za-z]$/.test(word)) {
      name = word.slice(1);
    } else {
      return undefined;
    }
    const negated = name.startsWith('no-') && !Object.hasOwn(records, name) ? name.slice(3) : undefined;
    const flag = negated ?? name;
    const option = Object.hasOwn(records, flag) ? records[flag]! : undefined;
    if (option === undefined || flag.length === 0) return undefined;
    const values = given.get(flag) ?? [];
    if (values.length > 0 && !isList(option)) return undefined;
    if (negated !== undefined) {
      if (option.type !== 'boolean' || inline !== undefined) return undefined;
      given.set(flag, [false]);
      continue;
    }
    if (option.type === 'boolean') {
      // `--flag false` is yargs' to read: the plain word after it is declined below
      if (inline === undefined) {
        given.set(flag, [true]);
      } else if (inline === 'true' || inline === 'false') {
        given.set(flag, [inline === 'true']);
      } else {
        return undefined;
      }
      continue;
    }
    const text = inline ?? words[(i += 1)];
    if (text === undefined || (inline === undefined && (text === '' || text.startsWith('-')))) return undefined;
    const value = valueOf(option, text);
    if (value === undefined) return undefined;
    // in place: a list flag repeated on a long command line stays linear
    values.push(value);
    given.set(flag, values);
  }
  return given;
}

/**
 * The values the config files set, in yargs' order (a key of the first file is not taken from the
 * second), or undefined when a file is not one this reader takes whole.
 */
function configFileValues(
  given: ReadonlyMap<string, unknown[]>,
  records: Records,
  files: typeof agentConfigFileFlags,
): FlagValues | undefined {
  const here = optionTableOfRecords(records);
  const values: FlagValues = {};
  for (const [flag, { describe: _, ...reader }] of Object.entries(files)) {
    const path = given.get(flag)?.[0] ?? ('optionalPath' in reader ? reader.optionalPath : undefined);
    if (path === undefined) continue;
    try {
      // keys of another daemon: yargs knows the server's flags, this reader declines instead
      const fromFile = readConfigFile(String(path), {
        ...reader,
        command: 'bosun agent',
        here: () => here,
        elsewhere: () => new Set(),
      });
      for (const [key, value] of Object.entries(fromFile)) if (!(key in values)) values[key] = value;
    } catch {
      return undefined;
    }
  }
  return values;
}

/**
 * The arguments yargs would hand the agent's handler for `argv` (the words after `bosun`), under
 * the flags' own names, or undefined when the command line is not one this reader takes.
 */
export function parseAgentCommandLine(
  argv: readonly string[],
  records: Records = agentFlags,
  files: typeof agentConfigFileFlags = agentConfigFileFlags,
): AgentArgs | undefined {
  if (argv[0] !== 'agent' || !readableRecords(records)) return undefined;
  const configFlags: Records = Object.fromEntries(
    Object.entries(files).map(([flag, file]) => [
      flag,
      { type: 'string', ...('optionalPath' in file ? { default: file.optionalPath } : {}) },
    ]),
  );
  const everyFlag = { ...records, ...configFlags };
  const given = givenValues(argv.slice(1), everyFlag);
  if (given === undefined) return undefined;
  const fromFiles = configFileValues(given, records, files);
  if (fromFiles === undefined) return undefined;
  const args: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(everyFlag)) {
    const values = given.get(name);
    const value = values !== undefined ? (isList(option) ? values : values[0]) : (fromFiles[name] ?? option.default);
    if (value === undefined) continue;
    args[name] = isList(option) ? listItems(value) : value;
  }
  return args as unknown as AgentArgs;
}

/**
 * Runs `argv` on this reader and gives its exit code, or undefined when yargs must read it.
 * Failures end as yargs' path ends them: one line on stderr and the exit code.
 */
export async function runAgentCommandLine(argv: readonly string[]): Promise<number | undefined> {
  const args = parseAgentCommandLine(argv);
  if (args === undefined) return undefined;
  try {
    await (await import('./agent-run.ts')).runAgent(args);
  } catch (err) {
    return reportFailure(err);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
}
