/**
 * The `bosun` command. Subcommands load their implementation lazily so that a quick command
 * (`bosun cri ps`) does not pay for the server or the agent at start-up.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { versionLine } from './version.ts';
import { CliError, describeFailure, ExitCode } from './exit.ts';
import { commands } from './commands.ts';

export async function main(argv: string[]): Promise<number> {
  let usageError: string | undefined;
  const parser = yargs(argv)
    .scriptName('bosun')
    .usage('$0 <command> [options]\n\nA node agent (kubelet + kube-proxy) with a small Kubernetes-compatible control plane.')
    .version(versionLine())
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'name a command; see bosun --help')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      usageError = msg;
    });
  for (const command of commands) parser.command(command);
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
    const { line, code } = describeFailure(err);
    process.stderr.write(`bosun: ${line}\n`);
    return code;
  }
  if (usageError !== undefined) {
    process.stderr.write(`bosun: ${usageError}\n(see bosun --help)\n`);
    return ExitCode.usage;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
}

process.exitCode = await main(hideBin(process.argv));
