/**
 * `bosun cri`: inspect and drive the node's container runtime through CRI, as crictl does (same
 * subcommands, columns and flags), with filters that hold in every output format and errors that
 * say what to do. Only this file loads at start-up; each subcommand's code loads when it runs.
 *
 * Exit codes: 0 success; 1 the command failed (runtime unreachable, object not found, ...);
 * 2 wrong usage (unknown flag, bad argument, unreadable config file). `exec` and `attach` exit
 * with the remote command's own exit code.
 */
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { CriContext, CriGlobalArgs, OutputFormat } from '../cri/commands/context.ts';
import type { ImagesArgs, ListArgs, PsArgs } from '../cri/commands/list.ts';
import { CliError, ExitCode } from './exit.ts';
import {
  criGlobalOptions,
  criParserConfiguration,
  documentOutputOption,
  imagesOptions,
  listFilterOptions,
  psOptions,
  tableOutputOption,
} from './cri-options.ts';
import { afterDashes, requiredPositional } from './typed-args.ts';

/** Runs a subcommand's implementation with a runtime connected as `args` say. */
async function act(args: CriGlobalArgs, run: (ctx: CriContext) => Promise<void | number>): Promise<void> {
  // What a subcommand loads from here on (grpc-js, protobufjs, our cri code) is much of its
  // start-up; Node's compile cache lets the next run skip compiling it again (bench/cri-cli.ts).
  // It lives in the user's own cache folder, not a shared temp folder others could write to.
  enableCompileCache(
    process.env.XDG_CACHE_HOME ? join(process.env.XDG_CACHE_HOME, 'bosun') : join(homedir(), '.cache', 'bosun'),
  );
  // `bosun cri logs ID | head` closes our stdout early: that is the reader's choice, not a failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const [{ withRuntime }, { cliErrorFrom }] = await Promise.all([
    import('../cri/commands/context.ts'),
    import('./cri-failure.ts'),
  ]);
  try {
    await withRuntime(args, async (ctx) => {
      const code = await run(ctx);
      if (typeof code === 'number') process.exitCode = code;
    });
  } catch (err) {
    throw cliErrorFrom(err);
  }
}

/** An AbortSignal that fires on Ctrl-C or SIGTERM, for commands that run until stopped. */
function untilInterrupted(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

const output = <T>(y: Argv<T>, fallback: OutputFormat = 'table') =>
  y.options(fallback === 'table' ? tableOutputOption : documentOutputOption);

/**
 * The subcommands that scripts and people run most, which take only flags: cli/cri-quick.ts runs a
 * plain command line of these without loading yargs (a third of `bosun cri ps`'s start-up).
 */
export const listingSubcommands = {
  version: {
    options: tableOutputOption,
    run: (a: CriGlobalArgs & { output: OutputFormat }) =>
      act(a, (ctx) =>
        Promise.all([import('../cri/commands/inspect.ts'), import('./version.ts')]).then(([m, { bosunVersion }]) =>
          m.version(ctx, { ...a, clientVersion: bosunVersion }),
        ),
      ),
  },
  info: {
    options: documentOutputOption,
    run: (a: CriGlobalArgs & { output: OutputFormat }) =>
      act(a, (ctx) => import('../cri/commands/inspect.ts').then((m) => m.info(ctx, a))),
  },
  ps: {
    options: psOptions,
    run: (a: CriGlobalArgs & PsArgs) => act(a, (ctx) => import('../cri/commands/list.ts').then((m) => m.ps(ctx, a))),
  },
  pods: {
    options: listFilterOptions,
    run: (a: CriGlobalArgs & ListArgs) =>
      act(a, (ctx) => import('../cri/commands/list.ts').then((m) => m.pods(ctx, a))),
  },
  images: {
    options: imagesOptions,
    run: (a: CriGlobalArgs & ImagesArgs) =>
      act(a, (ctx) => import('../cri/commands/list.ts').then((m) => m.images(ctx, a))),
  },
} as const;

/**
 * `exec CONTAINER ls -l` would hand `-l` to our own parser (and `sh -c ...` would set --config),
 * so options meant for the command must come after `--`, as with kubectl exec. Caught here,
 * before anything runs, with the fix in the message.
 */
function commandAfterDashes(argv: Record<string, unknown>): true {
  const raw = process.argv.slice(2);
  const at = raw.indexOf(String(argv.container));
  const dashes = raw.indexOf('--');
  const end = dashes === -1 ? raw.length : dashes;
  if (at !== -1 && at < end && raw.slice(at + 1, end).some((token) => token.startsWith('-'))) {
    throw new CliError(
      'put -- before a command that has options: bosun cri exec [-it] CONTAINER -- COMMAND [ARG...]',
      ExitCode.usage,
    );
  }
  return true;
}

const ids = <T>(y: Argv<T>, what: string) =>
  y.positional('ids', { type: 'string', array: true, default: [] as string[], describe: `${what} IDs or ID prefixes` });

/** Adds one subcommand to `bosun cri`, its handler typed by what its builder declares. */
const subcommand =
  <A extends CriGlobalArgs>(module: CommandModule<CriGlobalArgs, A>) =>
  (y: Argv<CriGlobalArgs>): Argv<CriGlobalArgs> =>
    y.command(module);

const subcommands: ((y: Argv<CriGlobalArgs>) => Argv<CriGlobalArgs>)[] = [
  subcommand({
    command: 'version',
    describe: 'Runtime name and versions, and the CRI version it speaks',
    builder: (y) => y.options(listingSubcommands.version.options),
    handler: (a) => listingSubcommands.version.run(a),
  }),
  subcommand({
    command: 'info',
    describe: "The runtime's status, conditions and configuration",
    builder: (y) => y.options(listingSubcommands.info.options),
    handler: (a) => listingSubcommands.info.run(a),
  }),
  subcommand({
    command: 'ps',
    describe: 'List containers (running ones unless -a)',
    builder: (y) => y.options(listingSubcommands.ps.options),
    handler: (a) => listingSubcommands.ps.run(a),
  }),
  subcommand({
    command: 'pods',
    describe: 'List pod sandboxes',
    builder: (y) => y.options(listingSubcommands.pods.options),
    handler: (a) => listingSubcommands.pods.run(a),
  }),
  subcommand({
    command: 'images [ref]',
    aliases: ['image', 'img'],
    describe: 'List images',
    builder: (y) =>
      y
        .positional('ref', { type: 'string', describe: 'Only images of this repository[:tag]' })
        .options(listingSubcommands.images.options),
    handler: (a) => listingSubcommands.images.run(a),
  }),
  subcommand({
    command: 'inspect <ids..>',
    describe: 'Status and runtime details of containers',
    builder: (y) => output(ids(y, 'Container'), 'json'),
    handler: (a) => act(a, (ctx) => import('../cri/commands/inspect.ts').then((m) => m.inspect(ctx, a))),
  }),
  subcommand({
    command: 'inspectp <ids..>',
    describe: 'Status and runtime details of pods',
    builder: (y) => output(ids(y, 'Pod'), 'json'),
    handler: (a) => act(a, (ctx) => import('../cri/commands/inspect.ts').then((m) => m.inspectp(ctx, a))),
  }),
  subcommand({
    command: 'inspecti <ids..>',
    describe: 'Status and details of images (by reference, ID or ID prefix)',
    builder: (y) => output(ids(y, 'Image'), 'json'),
    handler: (a) => act(a, (ctx) => import('../cri/commands/inspect.ts').then((m) => m.inspecti(ctx, a))),
  }),
  subcommand({
    command: 'logs <container>',
    describe: "Print a container's log (read from its CRI log file)",
    builder: (y) =>
      requiredPositional(y, 'container', { type: 'string', describe: 'Container ID or prefix' })
        .option('follow', {
          alias: 'f',
          type: 'boolean',
          default: false,
          describe: 'Keep printing new lines until the container stops',
        })
        .option('tail', { type: 'number', default: -1, describe: 'Only the last N lines' })
        .option('since', {
          type: 'string',
          describe: 'Only lines since a duration ago (30s, 5m, 1h) or an RFC 3339 time',
        })
        .option('timestamps', { alias: 't', type: 'boolean', default: false, describe: 'Show the time of each line' }),
    handler: (a) => act(a, (ctx) => import('../cri/commands/logs.ts').then((m) => m.logs(ctx, a, untilInterrupted()))),
  }),
  subcommand({
    command: 'exec <container> [cmd..]',
    describe: 'Run a command in a container: bosun cri exec [-it] CONTAINER -- COMMAND [ARG...]',
    builder: (y) =>
      requiredPositional(y.parserConfiguration({ 'populate--': true }).check(commandAfterDashes), 'container', {
        type: 'string',
        describe: 'Container ID or prefix',
      })
        .positional('cmd', { type: 'string', array: true, default: [] as string[], describe: 'Command and arguments' })
        .option('interactive', { alias: 'i', type: 'boolean', default: false, describe: 'Pass stdin to the command' })
        .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'Run the command in a terminal' })
        .option('sync', {
          alias: 's',
          type: 'boolean',
          default: false,
          describe: 'Run through ExecSync (no streaming)',
        })
        .option('exec-timeout', {
          type: 'number',
          default: 0,
          describe: 'With --sync: seconds before the runtime stops the command (0: none)',
        }),
    handler: (a) =>
      act(a, (ctx) =>
        import('../cri/commands/exec.ts').then((m) =>
          m.exec(ctx, { ...a, cmd: [...a.cmd, ...afterDashes(a)] }, { stdin: process.stdin, stdout: process.stdout }),
        ),
      ),
  }),
  subcommand({
    command: 'attach <container>',
    describe: "Attach to a running container's main process",
    builder: (y) =>
      requiredPositional(y, 'container', { type: 'string', describe: 'Container ID or prefix' })
        .option('interactive', { alias: 'i', type: 'boolean', default: false, describe: 'Pass stdin' })
        .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'The container runs in a terminal' }),
    handler: (a) =>
      act(a, (ctx) =>
        import('../cri/commands/exec.ts').then((m) =>
          m.attach(ctx, a, { stdin: process.stdin, stdout: process.stdout }),
        ),
      ),
  }),
  subcommand({
    command: 'port-forward <pod> <ports..>',
    describe: 'Forward local ports to a pod: bosun cri port-forward POD [LOCAL:]REMOTE...',
    builder: (y) =>
      requiredPositional(requiredPositional(y, 'pod', { type: 'string', describe: 'Pod ID or prefix' }), 'ports', {
        type: 'string',
        array: true,
        describe: 'PORT or LOCAL:REMOTE (LOCAL 0: any free port)',
      }).option('address', { type: 'string', default: '127.0.0.1', describe: 'Local address to listen on' }),
    handler: (a) =>
      act(a, (ctx) => import('../cri/commands/exec.ts').then((m) => m.portForward(ctx, a, untilInterrupted()))),
  }),
  subcommand({
    command: 'stats [ids..]',
    describe: 'Resource use of running containers',
    builder: (y) =>
      output(ids(y, 'Container'))
        .option('pod', { alias: 'p', type: 'string', describe: 'Only containers of this pod' })
        .option('label', {
          type: 'string',
          array: true,
          default: [] as string[],
          describe: 'Filter by label key=value',
        })
        .option('seconds', {
          type: 'number',
          default: 1,
          describe: 'Seconds between the two samples CPU % is computed from',
        })
        .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'Also stopped containers' })
        .option('no-trunc', { type: 'boolean', default: false, describe: 'Do not cut IDs' }),
    handler: (a) => act(a, (ctx) => import('../cri/commands/stats.ts').then((m) => m.stats(ctx, a))),
  }),
  subcommand({
    command: 'statsp [ids..]',
    describe: 'Resource use of pods',
    builder: (y) =>
      output(ids(y, 'Pod'))
        .option('label', {
          type: 'string',
          array: true,
          default: [] as string[],
          describe: 'Filter by label key=value',
        })
        .option('seconds', {
          type: 'number',
          default: 1,
          describe: 'Seconds between the two samples CPU % is computed from',
        })
        .option('no-trunc', { type: 'boolean', default: false, describe: 'Do not cut IDs' }),
    handler: (a) => act(a, (ctx) => import('../cri/commands/stats.ts').then((m) => m.statsp(ctx, a))),
  }),
  subcommand({
    command: 'pull <image>',
    describe: 'Pull an image (a progress bar on a terminal, plain lines otherwise)',
    builder: (y) =>
      requiredPositional(y, 'image', { type: 'string', describe: 'Image reference' })
        .option('creds', { type: 'string', describe: 'Registry credentials USERNAME:PASSWORD' })
        .option('auth', { type: 'string', describe: 'Registry auth as base64 USERNAME:PASSWORD' })
        .option('pod-config', { type: 'string', describe: 'Pull in the context of this pod config file' }),
    handler: (a) =>
      act(a, (ctx) =>
        import('../cri/commands/images.ts').then((m) => m.pull(ctx, a, { isTTY: process.stderr.isTTY === true })),
      ),
  }),
  subcommand({
    command: 'rmi [images..]',
    describe: 'Remove images (by reference, ID or ID prefix)',
    builder: (y) =>
      y
        .positional('images', { type: 'string', array: true, default: [] as string[] })
        .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'Remove all images' })
        .option('prune', { type: 'boolean', default: false, describe: 'Remove images no container uses' }),
    handler: (a) => act(a, (ctx) => import('../cri/commands/images.ts').then((m) => m.rmi(ctx, a))),
  }),
  subcommand({
    command: 'runp <config>',
    describe: 'Run a pod sandbox from a JSON or YAML config file; prints its ID',
    builder: (y) =>
      requiredPositional(y, 'config', { type: 'string', describe: 'Pod sandbox config file' }).option('runtime', {
        type: 'string',
        describe: 'Runtime handler (default: the runtime default)',
      }),
    handler: (a) => act(a, (ctx) => import('../cri/commands/lifecycle.ts').then((m) => m.runp(ctx, a))),
  }),
  subcommand({
    command: 'create <pod> <container-config> <pod-config>',
    describe: 'Create a container in a pod from config files; prints its ID',
    builder: (y) =>
      requiredPositional(
        requiredPositional(
          requiredPositional(y, 'pod', { type: 'string', describe: 'Pod ID or prefix' }),
          'container-config',
          { type: 'string' },
        ),
        'pod-config',
        { type: 'string' },
      ).option('no-pull', { type: 'boolean', default: false, describe: 'Do not pull a missing image' }),
    handler: (a) => act(a, (ctx) => import('../cri/commands/lifecycle.ts').then((m) => m.create(ctx, a))),
  }),
  subcommand({
    command: 'start <ids..>',
    describe: 'Start created containers',
    builder: (y) => ids(y, 'Container'),
    handler: (a) => act(a, (ctx) => import('../cri/commands/lifecycle.ts').then((m) => m.start(ctx, a))),
  }),
  subcommand({
    command: 'stop [ids..]',
    describe: 'Stop running containers',
    builder: (y) =>
      ids(y, 'Container').option('timeout', {
        alias: 't',
        type: 'number',
        default: 0,
        describe: 'Seconds to wait before killing',
      }),
    handler: (a) => act(a, (ctx) => import('../cri/commands/lifecycle.ts').then((m) => m.stop(ctx, a))),
  }),
  subcommand({
    command: 'stopp [ids..]',
    describe: 'Stop pods (and their containers)',
    builder: (y) => ids(y, 'Pod'),
    handler: (a) => act(a, (ctx) => import('../cri/commands/lifecycle.ts').then((m) => m.stopp(ctx, a))),
  }),
  subcommand({
    command: 'rm [ids..]',
    describe: 'Remove containers',
    builder: (y) =>
      ids(y, 'Container')
        .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'Stop running containers first' })
        .option('all', {
          alias: 'a',
          type: 'boolean',
          default: false,
          describe: 'Remove all stopped containers (all with --force)',
        }),
    handler: (a) => act(a, (ctx) => import('../cri/commands/lifecycle.ts').then((m) => m.rm(ctx, a))),
  }),
  subcommand({
    command: 'rmp [ids..]',
    describe: 'Remove pods',
    builder: (y) =>
      ids(y, 'Pod')
        .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'Stop ready pods first' })
        .option('all', {
          alias: 'a',
          type: 'boolean',
          default: false,
          describe: 'Remove all stopped pods (all with --force)',
        }),
    handler: (a) => act(a, (ctx) => import('../cri/commands/lifecycle.ts').then((m) => m.rmp(ctx, a))),
  }),
];

export const criCommand: CommandModule<object, CriGlobalArgs> = {
  command: 'cri',
  describe: 'Inspect and drive the container runtime through CRI (like crictl)',
  builder: (y) => {
    const withGlobals = y
      .parserConfiguration(criParserConfiguration)
      .options(criGlobalOptions)
      .epilogue(
        "Exit codes: 0 ok, 1 failed (runtime unreachable, not found, ...), 2 wrong usage; exec/attach exit with the command's own code.",
      );
    for (const add of subcommands) add(withGlobals);
    return withGlobals.demandCommand(1, 'name a cri subcommand; see bosun cri --help');
  },
  handler: () => {},
};
