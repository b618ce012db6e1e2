/**
 * `bosun server join https://first:6443 --token … --discovery-token-ca-cert-hash sha256:…
 * --certificate-key … --etcd-endpoints …`: make this machine one more API server of a cluster on
 * etcd, as `kubeadm join --control-plane --certificate-key` does.
 */
import type { Argv, CommandModule } from 'yargs';
import { nodePathOptions, nodePathsFrom, type NodePathArgs } from '../host/init/node-paths.ts';
import { advertiseAddress } from './advertise-address.ts';
import { CliError, ExitCode } from './exit.ts';
import { joinCredentials } from './join-credentials.ts';
import { requiredListOption } from './list-flag.ts';
import { etcdOptions, etcdServerFlags, type EtcdArgs } from './etcd-flags.ts';
import { requiredPositional } from './typed-args.ts';

interface ServerJoinArgs extends NodePathArgs, EtcdArgs {
  datastore: 'etcd';
  server: string;
  token: string;
  'discovery-token-ca-cert-hash': string[];
  'certificate-key': string;
  'advertise-address': string | undefined;
  'bind-address': string;
  'secure-port': number;
  'server-arg': string[];
  start: boolean;
}

/**
 * yargs hands a command's options on to its subcommands: `bosun server`'s flags (and its config
 * file, whose --data-dir means another folder) must not reach this one, which has its own.
 */
function withoutServerFlags<T>(y: Argv<T>): Argv<T> {
  // yargs' own methods, beyond its published types
  const parser = y as unknown as {
    getOptions(): { key: Record<string, unknown> };
    global(keys: string[], global: boolean): unknown;
    getInternalMethods(): { reset(): unknown };
  };
  const inherited = Object.keys(parser.getOptions().key).filter((key) => key !== 'help' && key !== 'version');
  parser.global(inherited, false);
  parser.getInternalMethods().reset();
  return y;
}

export const serverJoinCommand: CommandModule<object, ServerJoinArgs> = {
  command: 'join <server>',
  describe: 'Make this machine one more API server of a cluster on etcd',
  builder: (y) =>
    requiredPositional(withoutServerFlags(y), 'server', {
      type: 'string',
      describe: 'A running server of the cluster, https://host:port',
    })
      .options(nodePathOptions)
      .option('token', {
        type: 'string',
        demandOption: true,
        describe: 'Control-plane join token <id>.<secret> (bosun token create --control-plane)',
      })
      .option('discovery-token-ca-cert-hash', requiredListOption('sha256:<hex> of the cluster CA public key'))
      .option('certificate-key', {
        type: 'string',
        demandOption: true,
        describe: 'The 64 hex digits that open the uploaded control-plane material (printed with the token)',
      })
      .option('datastore', {
        type: 'string',
        choices: ['etcd'] as const,
        default: 'etcd' as const,
        describe: "The cluster's datastore: etcd, the one every server of a cluster shares",
      })
      .options(etcdOptions)
      .option('advertise-address', {
        type: 'string',
        describe: "Address nodes reach this server on (default: this machine's default-route address)",
      })
      .option('bind-address', { type: 'string', default: '0.0.0.0', describe: 'Address the API server listens on' })
      .option('secure-port', { type: 'number', default: 6443, describe: 'HTTPS port of the API server' })
      .option('server-arg', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Extra flag for bosun server (repeatable)',
      })
      .option('start', {
        type: 'boolean',
        default: true,
        describe: 'Start the server once the files are in place (--no-start prints its command instead)',
      })
      .example(
        '$0 server join https://10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:… --certificate-key … --etcd-endpoints https://10.0.0.1:2379',
        'bosun token create --control-plane --print-join-command prints this line',
      ),
  handler: async (args) => {
    const { server, token, pins } = await joinCredentials(
      args.server,
      args.token,
      args['discovery-token-ca-cert-hash'],
    );
    const { parseCertificateKey } = await import('../host/init/control-plane-material.ts');
    const certificateKey = parseCertificateKey(args['certificate-key']);
    if (certificateKey === undefined)
      throw new CliError(
        '--certificate-key: use the 64 hex digits printed with the control-plane token',
        ExitCode.usage,
      );
    const etcd = etcdServerFlags(args, 'name the etcd the cluster runs on (every server of a cluster shares one etcd)');
    const port = args['secure-port'];
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new CliError(`--secure-port ${port} is not a port`, ExitCode.usage);
    if (args.start && process.getuid?.() !== 0)
      throw new CliError('bosun server join needs root (it runs the server as a daemon and writes under /etc/bosun)');
    const [{ joinServer }, { JoinError }] = await Promise.all([
      import('../host/init/join-server.ts'),
      import('../host/join/errors.ts'),
    ]);
    const say = (line: string) => process.stderr.write(`[server join] ${line}\n`);
    try {
      const result = await joinServer({
        server: server.origin,
        token,
        tokenText: args.token,
        pins,
        certificateKey,
        paths: nodePathsFrom(args),
        advertiseAddress: await advertiseAddress(args['advertise-address']),
        bindAddress: args['bind-address'],
        port,
        serverArgs: [...etcd, ...args['server-arg'].map(String)],
        start: args.start,
        say,
      });
      if (result.adminKubeconfig === undefined) {
        say('not starting the server (--no-start); start it with:');
        process.stdout.write(`bosun server ${result.serverArgs.join(' ')}\n`);
        return;
      }
      say(`this server serves the cluster; use it with: export KUBECONFIG=${result.adminKubeconfig}`);
    } catch (err) {
      if (err instanceof JoinError) throw new CliError(err.message);
      throw err;
    }
  },
};
