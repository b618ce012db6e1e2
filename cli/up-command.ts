/**
 * `bosun up`: a single-node cluster in the foreground, for a quick try — the server and the agent as
 * children of this command, the agent joined through the real `bosun join` path. Ctrl-C stops both;
 * containers keep running in containerd until `bosun reset`.
 */
import type { CommandModule } from 'yargs';
import { hostname } from 'node:os';
import { CliError, ExitCode } from './exit.ts';
import { advertiseAddress } from './advertise-address.ts';
import { nodePathOptions, nodePathsFrom, type NodePathArgs } from '../host/init/node-paths.ts';

interface UpArgs extends NodePathArgs {
  'advertise-address': string | undefined;
  'secure-port': number;
  'node-name': string;
  'container-runtime-endpoint': string;
  'cni-conf-dir': string;
  'cni-data-dir': string;
  'pod-log-dir': string;
  'cgroup-driver': string | undefined;
  'server-arg': string[];
  'agent-arg': string[];
}

export const upCommand: CommandModule<object, UpArgs> = {
  command: 'up',
  describe: 'Run a single-node cluster in the foreground (server + agent; Ctrl-C stops both, pods keep running)',
  builder: (y) =>
    y
      .options(nodePathOptions)
      .option('advertise-address', {
        type: 'string',
        describe: "The server's and the node's address (default: this machine's default-route address)",
      })
      .option('secure-port', { type: 'number', default: 6443, describe: 'HTTPS port of the API server' })
      .option('node-name', { type: 'string', default: hostname().toLowerCase(), describe: 'Name of this node' })
      .option('container-runtime-endpoint', {
        type: 'string',
        default: 'unix:///run/containerd/containerd.sock',
        describe: 'CRI endpoint of containerd (configured as install.sh does)',
      })
      .option('cni-conf-dir', {
        type: 'string',
        default: '/etc/cni/net.d',
        describe: "containerd's CNI configuration folder",
      })
      .option('cni-data-dir', {
        type: 'string',
        default: '/var/lib/cni/networks',
        describe: 'Where host-local keeps its leases',
      })
      .option('pod-log-dir', { type: 'string', default: '/var/log/pods', describe: 'Where container logs go' })
      .option('cgroup-driver', {
        type: 'string',
        choices: ['cgroupfs', 'systemd'],
        describe: "Must match containerd's (default: chosen from the host)",
      })
      .option('server-arg', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Extra flag for bosun server (repeatable)',
      })
      .option('agent-arg', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Extra flag for bosun agent (repeatable)',
      }),
  handler: async (args) => {
    if (process.getuid?.() !== 0) throw new CliError('bosun up needs root (the agent runs pods and programs iptables)');
    const port = args['secure-port'];
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new CliError(`--secure-port ${port} is not a port`, ExitCode.usage);
    const advertise = await advertiseAddress(args['advertise-address']);
    const { chooseCgroupDriver, hostCgroupClues } = await import('../agent/pods/cgroup-driver.ts');
    const cgroupDriver =
      args['cgroup-driver'] ?? chooseCgroupDriver({ fromRuntime: undefined, ...(await hostCgroupClues()) }).driver;
    const { runUp } = await import('../host/up/run-up.ts');
    const stopRequested = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    try {
      await runUp({
        paths: nodePathsFrom(args),
        advertiseAddress: advertise,
        port,
        nodeName: args['node-name'],
        runtimeEndpoint: args['container-runtime-endpoint'],
        cniConfDir: args['cni-conf-dir'],
        cniDataDir: args['cni-data-dir'],
        podLogDir: args['pod-log-dir'],
        cgroupDriver,
        serverArgs: args['server-arg'].map(String),
        agentArgs: args['agent-arg'].map(String),
        say: (line) => process.stderr.write(`[up] ${line}\n`),
        stopRequested,
      });
    } catch (err) {
      throw new CliError(`up: ${(err as Error).message.split('\n')[0]}`);
    }
  },
};
