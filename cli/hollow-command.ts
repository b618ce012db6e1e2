/**
 * `bosun hollow --nodes K <https://server> --token … --discovery-token-ca-cert-hash sha256:…`:
 * K hollow nodes in this process, for scale tests of a control plane (kubemark's idea). Each runs
 * the real agent over a fake container runtime and joins with its own client certificate. Prints
 * one JSON progress line every few seconds and when all nodes are up; stops on SIGTERM/SIGINT.
 * Pods scheduled to hollow nodes "run" without running anything.
 */
import type { CommandModule } from 'yargs';
import { logLevelOf, logLevelOption, verbosityOption } from './verbosity.ts';
import { CliError, ExitCode } from './exit.ts';
import { listOption, requiredListOption } from './list-flag.ts';
import { requiredPositional } from './typed-args.ts';
import { bosunVersion } from './version.ts';

interface HollowArgs {
  server: string;
  servers: string[];
  token: string;
  'discovery-token-ca-cert-hash': string[];
  nodes: number;
  'name-prefix': string;
  'first-index': number;
  'join-concurrency': number;
  'runtime-latency-ms': number;
  'pod-resync-seconds': number;
  'data-dir': string | undefined;
  'progress-seconds': number;
  'log-level'?: string | undefined;
  v?: number | undefined;
}

export const hollowCommand: CommandModule<object, HollowArgs> = {
  command: 'hollow <server>',
  describe: 'Run many hollow nodes (real agent, fake runtime) in one process, for scale tests',
  builder: (y) =>
    requiredPositional(y, 'server', { type: 'string', describe: 'The API server, https://host:port' })
      .option('token', {
        type: 'string',
        demandOption: true,
        describe: 'Bootstrap token <id>.<secret> (bosun token create)',
      })
      .option('discovery-token-ca-cert-hash', requiredListOption('sha256:<hex> of the cluster CA public key'))
      .option(
        'servers',
        listOption(
          'More API servers besides <server> (https://host:port): every node fails over between them through its loopback balancer, as bosun agent --server',
        ),
      )
      .option('nodes', { type: 'number', default: 10, describe: 'How many hollow nodes' })
      .option('name-prefix', { type: 'string', default: 'hollow', describe: 'Node names are <prefix>-<index>' })
      .option('first-index', { type: 'number', default: 0, describe: 'Index of the first node (distinct per process)' })
      .option('join-concurrency', {
        type: 'number',
        default: 8,
        describe: 'Certificate requests and registrations in flight at once',
      })
      .option('runtime-latency-ms', {
        type: 'number',
        default: 0,
        describe: 'Time each sandbox/container create and start takes',
      })
      .option('pod-resync-seconds', {
        type: 'number',
        default: 60,
        describe: "Pod resync period (the kubelet's syncFrequency; a fake runtime has no exits to notice)",
      })
      .option('data-dir', {
        type: 'string',
        describe: "Where the nodes' kubeconfigs go (default: a temporary folder, removed at exit)",
      })
      .option('progress-seconds', { type: 'number', default: 5, describe: 'How often a progress line is printed' })
      .option('log-level', logLevelOption('warn'))
      .option('v', verbosityOption),
  handler: async (args) => {
    const [{ parseBootstrapToken, parseCaCertHash }, { HollowFleet }, { pino }, fs, os, path] = await Promise.all([
      import('../kube/bootstrap.ts'),
      import('../sandbox/hollow/hollow-fleet.ts'),
      import('pino'),
      import('node:fs'),
      import('node:os'),
      import('node:path'),
    ]);
    const token = parseBootstrapToken(args.token);
    if (!token)
      throw new CliError(
        '--token must look like abcdef.0123456789abcdef (6 and 16 lower-case letters or digits)',
        ExitCode.usage,
      );
    const pins = args['discovery-token-ca-cert-hash'].map((pin) => {
      const parsed = parseCaCertHash(String(pin));
      if (parsed === undefined)
        throw new CliError(
          `--discovery-token-ca-cert-hash ${pin}: use sha256:<64 hex digits> (bosun token create --print-join-command prints it)`,
          ExitCode.usage,
        );
      return parsed;
    });
    for (const url of [args.server, ...args.servers])
      if (!/^https:\/\/[^/\s]+\/?$/.test(url))
        throw new CliError(`${url} is not an https:// URL of the API server`, ExitCode.usage);
    for (const flag of ['nodes', 'join-concurrency'] as const) {
      if (!Number.isInteger(args[flag]) || args[flag] < 1)
        throw new CliError(`--${flag} ${args[flag]} must be a positive whole number`, ExitCode.usage);
    }
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(args['name-prefix']))
      throw new CliError(
        `--name-prefix ${args['name-prefix']} must be lower-case letters, digits and '-'`,
        ExitCode.usage,
      );
    const dataDir = args['data-dir'] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bosun-hollow-'));
    const removeDataDir = args['data-dir'] === undefined;
    const log = pino({ level: logLevelOf(args, 'warn'), base: { component: 'hollow' } }, pino.destination(2));
    const fleet = new HollowFleet({
      server: new URL(args.server).origin,
      ...(args.servers.length > 0 ? { servers: args.servers.map((url) => new URL(url).origin) } : {}),
      token,
      caHashes: pins,
      nodes: args.nodes,
      namePrefix: args['name-prefix'],
      firstIndex: args['first-index'],
      dataDir,
      joinConcurrency: args['join-concurrency'],
      runtimeLatencyMs: args['runtime-latency-ms'],
      podResyncMs: args['pod-resync-seconds'] * 1000,
      pauseImage: 'localhost/bosun/pause:3.10',
      version: `v${bosunVersion}`,
      log,
    });
    let started = false;
    const report = (event: string) => {
      const memory = process.memoryUsage();
      const { lastError, ...counts } = fleet.progress;
      process.stdout.write(
        `${JSON.stringify({ hollow: event, started, ...counts, rss_mib: Math.round(memory.rss / 1048576), heap_mib: Math.round(memory.heapUsed / 1048576), ...(lastError ? { last_error: lastError } : {}) })}\n`,
      );
    };
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    const ticker = setInterval(() => report('progress'), args['progress-seconds'] * 1000);
    void fleet.allStarted.then(() => {
      started = true;
      report('started');
    });
    try {
      await fleet.run(abort.signal);
    } catch (err) {
      throw new CliError(`hollow nodes failed: ${(err as Error).message}`);
    } finally {
      clearInterval(ticker);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      if (removeDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }
    report('stopped');
  },
};
