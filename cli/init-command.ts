/**
 * `bosun init`: make this machine the cluster's control plane, the kubeadm way — start `bosun server`
 * as a daemon (its unit under systemd, otherwise detached), write the admin kubeconfig, create a
 * bootstrap token and print the exact `bosun join` command for nodes.
 */
import type { CommandModule } from 'yargs';
import { CliError, ExitCode } from './exit.ts';
import { advertiseAddress } from './advertise-address.ts';
import { parseDurationSeconds } from './duration.ts';
import { datastoreServerFlags, etcdOptions, type EtcdArgs } from './etcd-flags.ts';
import { nodePathOptions, nodePathsFrom, type NodePathArgs } from '../host/init/node-paths.ts';

interface InitArgs extends NodePathArgs, EtcdArgs {
  'advertise-address': string | undefined;
  'bind-address': string;
  'secure-port': number;
  'token-ttl': string;
  'server-arg': string[];
  'pod-security': 'privileged' | 'baseline' | 'restricted' | undefined;
  datastore: 'sqlite' | 'etcd';
}

export const initCommand: CommandModule<object, InitArgs> = {
  command: 'init',
  describe: 'Start the control plane on this machine and print the command that joins nodes',
  builder: (y) =>
    y
      .options(nodePathOptions)
      .option('advertise-address', {
        type: 'string',
        describe: "Address nodes reach the API server on (default: this machine's default-route address)",
      })
      .option('bind-address', { type: 'string', default: '0.0.0.0', describe: 'Address the API server listens on' })
      .option('secure-port', { type: 'number', default: 6443, describe: 'HTTPS port of the API server' })
      .option('token-ttl', {
        type: 'string',
        default: '24h',
        describe: 'Lifetime of the bootstrap token in the join command',
      })
      .option('server-arg', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Extra flag for bosun server (repeatable)',
      })
      .option('pod-security', {
        type: 'string',
        choices: ['privileged', 'baseline', 'restricted'] as const,
        describe:
          'Pod Security level enforced in every namespace without its own labels (kube-system stays exempt); default: privileged enforced, baseline warned and audited',
      })
      .option('datastore', {
        type: 'string',
        choices: ['sqlite', 'etcd'] as const,
        default: 'sqlite' as const,
        describe: 'Embedded sqlite, or an etcd cluster (needed for more servers: bosun server join)',
      })
      .options(etcdOptions)
      .example(
        '$0 init --datastore etcd --etcd-endpoints https://10.0.0.1:2379',
        'a first server that others can join with bosun token create --control-plane',
      )
      .example('$0 init --pod-security restricted', 'refuse pods that do not meet the restricted Pod Security Standard')
      .example('$0 init', 'then run the printed bosun join command on each node'),
  handler: async (args) => {
    if (process.getuid?.() !== 0)
      throw new CliError('bosun init needs root (it runs the server as a daemon and writes under /etc/bosun)');
    const port = args['secure-port'];
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new CliError(`--secure-port ${port} is not a port`, ExitCode.usage);
    const ttl = parseDurationSeconds(args['token-ttl']);
    if (ttl === undefined)
      throw new CliError(
        `--token-ttl ${args['token-ttl']}: use a duration like 24h or 90m (0: never expires)`,
        ExitCode.usage,
      );
    const datastore = datastoreServerFlags(args.datastore, args);
    const advertise = await advertiseAddress(args['advertise-address']);
    const { initCluster } = await import('../host/init/init-cluster.ts');
    const { podSecurityDefaultForLevel } = await import('../controlplane/admission/pod-security/config.ts');
    const podSecurity =
      args['pod-security'] === undefined
        ? []
        : [`--pod-security-default=${podSecurityDefaultForLevel(args['pod-security'])}`];
    let result;
    try {
      result = await initCluster({
        paths: nodePathsFrom(args),
        advertiseAddress: advertise,
        bindAddress: args['bind-address'],
        port,
        tokenTtlSeconds: ttl,
        serverArgs: [...datastore, ...podSecurity, ...args['server-arg'].map(String)],
        say: (line) => process.stderr.write(`[init] ${line}\n`),
      });
    } catch (err) {
      throw new CliError(`init: ${(err as Error).message.split('\n')[0]}`);
    }
    process.stderr.write(`[init] the control plane runs at ${result.server}\n`);
    process.stderr.write(`[init] use it with: export KUBECONFIG=${result.adminKubeconfig}; kubectl get nodes\n`);
    process.stderr.write('[init] join nodes (as root on each) with:\n');
    process.stdout.write(`${result.joinCommand}\n`);
  },
};
