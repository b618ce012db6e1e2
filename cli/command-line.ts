/**
 * The `bosun` command line, parsed by yargs. Only the command it names is loaded (commands.ts),
 * so that a quick command (`bosun cri ps`) does not pay for the server or the agent at start-up.
 */
import yargs from 'yargs';
import { versionLine } from './version.ts';
import { CliError, describeFailure, ExitCode, reportFailure, UnknownArgumentError } from './exit.ts';
import { commandsFor } from './commands.ts';
import { refusedConfig } from './config/daemon-config.ts';
import { unknownArgumentLine, unknownLongFlags, unknownWordsOf } from './unknown-arguments.ts';

/** What yargs' usage of the failed command tells: its usage lines and its flags. */
interface CommandUsage {
  getUsage(): [string, string][];
  getDescriptions(): Record<string, unknown>;
}

/** A command line the parser refused for another reason than an unknown word (a missing argument). */
class UsageFailure extends Error {}

/** Whether the first unknown flag comes after a plain word (a container ID, then its command's options). */
function unknownAfterAWord(argv: readonly string[], unknown: readonly string[]): boolean {
  const word = argv.findIndex((arg, i) => i > argv.indexOf('exec') && !arg.startsWith('-'));
  const flag = argv.findIndex((arg) => arg.startsWith('-') && unknown.includes(arg.replace(/^--?/, '').split('=')[0]!));
  return word !== -1 && flag > word;
}

/** The shells `bosun completion` writes a script for, as `kubectl completion` names them. */
const completionShells: Record<string, string> = { bash: '/bin/bash', zsh: '/bin/zsh', fish: '/usr/bin/fish' };

/**
 * yargs writes the completion script for the shell in $SHELL; `bosun completion zsh` names the shell
 * instead (kubectl's and k3s' form), so the script can be made from any shell or from a package
 * build. The setting only lives in this process.
 */
function chooseCompletionShell(argv: readonly string[]): void {
  if (argv[0] !== 'completion' || argv.includes('--get-yargs-completions')) return;
  const [, shell, extra] = argv;
  if (shell === undefined) return;
  const path = completionShells[shell];
  if (path === undefined || extra !== undefined) {
    throw new CliError(
      `bosun completion: unsupported shell "${[shell, extra].filter(Boolean).join(' ')}"; name one of ${Object.keys(completionShells).join(', ')}`,
      ExitCode.usage,
    );
  }
  process.env.SHELL = path;
}

export async function runCommandLine(argv: string[]): Promise<number> {
  try {
    chooseCompletionShell(argv);
  } catch (err) {
    process.stderr.write(`${describeFailure(err).line}\n`);
    return ExitCode.usage;
  }
  const parser = yargs(argv)
    .scriptName('bosun')
    .usage(
      '$0 <command> [options]\n\nA node agent (kubelet + kube-proxy) with a small Kubernetes-compatible control plane.',
    )
    .version(versionLine())
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .strict()
    .completion(
      'completion',
      'Print a shell completion script: bosun completion bash|zsh|fish (e.g. > /etc/bash_completion.d/bosun)',
    )
    .demandCommand(1, 'name a command; see bosun --help')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err, usage) => {
      if (err) throw refusedConfig(err.message) ?? err;
      // throwing stops here: a command line with an unknown word never runs its command
      // yargs hands its usage of the command that failed, not the parser its types promise
      const command = usage as unknown as CommandUsage;
      const [[line] = ['$0']] = command.getUsage();
      const commandPath = line.split(/ [<[]/)[0]!.replace('$0', 'bosun');
      // no command yet: the catch-all command below words it
      if (commandPath === 'bosun') return;
      const known = Object.keys(command.getDescriptions());
      const unknown = unknownWordsOf(msg ?? '') ?? unknownLongFlags(argv, known);
      if (unknown.length === 0) throw new UsageFailure(msg ?? 'bad command line');
      // `bosun cri exec ID ls -l`: the unknown flag belongs to the command being run, not to bosun
      if (commandPath === 'bosun cri exec' && !argv.includes('--') && unknownAfterAWord(argv, unknown)) {
        throw new CliError(
          'put -- before a command that has options: bosun cri exec [-it] CONTAINER -- COMMAND [ARG...]',
          ExitCode.usage,
        );
      }
      throw new UnknownArgumentError(unknownArgumentLine(unknown, argv, commandPath, known));
    });
  for (const command of await commandsFor(argv)) parser.command(command);
  // anything that is not a command lands here: say so, as a usage error
  parser.command('*', false, {}, (args) => {
    const [first] = args._;
    if (first !== undefined) throw new CliError(`unknown command '${String(first)}'; see bosun --help`, ExitCode.usage);
    const option = Object.keys(args).find((key) => key !== '_' && key !== '$0');
    if (option !== undefined) throw new CliError(`unknown option --${option}; see bosun --help`, ExitCode.usage);
    throw new CliError('name a command; see bosun --help', ExitCode.usage);
  });
  try {
    await parser.parseAsync();
  } catch (err) {
    if (err instanceof UsageFailure) {
      process.stderr.write(`bosun: ${err.message}\n(see bosun --help)\n`);
      return ExitCode.usage;
    }
    return reportFailure(err);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
}
