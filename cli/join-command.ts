/**
 * `bosun join <https://server:6443> --token <id.secret> --discovery-token-ca-cert-hash sha256:<hex>`:
 * make this machine a node of the cluster, the kubeadm way:
 *   preflight → discovery (cluster-info, verified by token signature and CA pin) → clock check →
 *   TLS bootstrap (a client certificate for system:node:<name>) → kubeconfig (0600) → start the agent.
 */
import type { CommandModule } from 'yargs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CliError, ExitCode } from './exit.ts';
import { listOption, requiredListOption } from './list-flag.ts';
import { requiredPositional } from './typed-args.ts';

interface JoinArgs {
  server: string;
  token: string;
  'discovery-token-ca-cert-hash': string[];
  'node-name': string;
  'config-dir': string;
  'container-runtime-endpoint': string;
  'ignore-preflight-errors': string[];
  start: boolean;
  'agent-arg': string[];
  'log-dir': string;
  'run-dir': string;
}

export const joinCommand: CommandModule<object, JoinArgs> = {
  command: 'join <server>',
  describe: 'Join this machine to a cluster as a node',
  builder: (y) =>
    requiredPositional(y, 'server', {
      type: 'string',
      describe: 'The API server, https://host:port (several, comma-separated: the agent fails over between them)',
    })
      .option('token', {
        type: 'string',
        demandOption: true,
        describe: 'Bootstrap token <id>.<secret> (bosun token create)',
      })
      .option('discovery-token-ca-cert-hash', requiredListOption('sha256:<hex> of the cluster CA public key'))
      .option('node-name', { type: 'string', default: hostname().toLowerCase(), describe: 'Name of this node' })
      .option('config-dir', {
        type: 'string',
        default: '/etc/bosun',
        describe: 'Where the agent kubeconfig is written',
      })
      .option('container-runtime-endpoint', {
        type: 'string',
        default: 'unix:///run/containerd/containerd.sock',
        describe: 'CRI endpoint of containerd',
      })
      .option(
        'ignore-preflight-errors',
        listOption('Checks to ignore: root, runtime, iptables, swap, ports, clock, joined; all ignores every one'),
      )
      .option('start', {
        type: 'boolean',
        default: true,
        describe: 'Start the node agent once joined (--no-start to skip)',
      })
      .option('agent-arg', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Extra flag for bosun agent (repeatable)',
      })
      .option('log-dir', {
        type: 'string',
        default: '/var/log/bosun',
        describe: "Where a detached agent's log goes (without systemd)",
      })
      .option('run-dir', {
        type: 'string',
        default: '/run/bosun',
        describe: "Where a detached agent's PID file goes (without systemd)",
      })
      .example(
        '$0 join https://10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:…',
        '',
      ),
  handler: async (args) => {
    const { joinCredentials } = await import('./join-credentials.ts');
    const {
      servers,
      token,
      pins: parsedPins,
    } = await joinCredentials(args.server, args.token, args['discovery-token-ca-cert-hash']);
    // with several servers, the agent fails over between them (bosun agent --server)
    const failover = servers.length > 1 ? [`--server=${servers.map((s) => s.origin).join(',')}`] : [];
    const nodeName = args['node-name'];
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(nodeName))
      throw new CliError(`--node-name ${nodeName} is not a valid node name (lower-case DNS name)`, ExitCode.usage);
    const kubeconfigPath = join(args['config-dir'], 'agent.kubeconfig');

    const [
      { observe, judge, judgeClock, ignoredPreflightChecks },
      { discover, discoverAny },
      { requestNodeCertificate },
      { JoinError },
      { CriClient },
      { describeCriError },
    ] = await Promise.all([
      import('../host/join/preflight.ts'),
      import('../host/join/discovery.ts'),
      import('../host/join/tls-bootstrap.ts'),
      import('../host/join/errors.ts'),
      import('../cri/client.ts'),
      import('../host/join/runtime-probe.ts'),
    ]);
    const fail = (message: string): never => {
      throw new CliError(message);
    };
    let ignore: Set<string>;
    try {
      ignore = ignoredPreflightChecks(args['ignore-preflight-errors']);
    } catch (err) {
      throw new CliError((err as Error).message, ExitCode.usage);
    }
    const endpoint = args['container-runtime-endpoint'];
    const probeRuntime = async () => {
      const client = new CriClient(endpoint);
      try {
        await client.version({ timeoutMs: 3_000 });
        return undefined;
      } catch (err) {
        return describeCriError(err);
      } finally {
        client.close();
      }
    };

    let server = servers[0]!;
    try {
      // local checks first: they fail fast without touching the network
      const local = judge(
        await observe({
          runtimeEndpoint: endpoint,
          probeRuntime,
          clockOffsetMs: 0,
          kubeconfigPath,
          ports: [10250, 10256],
        }),
        ignore,
      );
      if (local.length > 0) fail(`preflight: ${local.map((f) => f.message).join('; ')}`);
      const found = await discoverAny(servers, (url) => discover(url.origin, token, parsedPins));
      server = found.server;
      const { cluster } = found;
      const clock = judgeClock(cluster.clockOffsetMs, ignore);
      if (clock.length > 0) fail(`preflight: ${clock.map((f) => f.message).join('; ')}`);
      process.stderr.write(`[join] ${server.origin} verified: CA ${cluster.caHash}, token ${token.id}\n`);
      const credentials = await requestNodeCertificate(server.origin, cluster.caPem, args.token, nodeName);
      const { writeAgentKubeconfig } = await import('../host/join/write-kubeconfig.ts');
      writeAgentKubeconfig(kubeconfigPath, { server: server.origin, caPem: cluster.caPem, nodeName, ...credentials });
      process.stderr.write(`[join] node ${nodeName}: client certificate issued, ${kubeconfigPath} written\n`);
    } catch (err) {
      if (err instanceof JoinError) throw new CliError(err.message);
      throw err;
    }
    if (!args.start) {
      process.stderr.write(
        `[join] not starting the agent (--no-start); start it with: bosun agent --kubeconfig ${kubeconfigPath} --node-name ${nodeName}${failover.map((f) => ` ${f}`).join('')}\n`,
      );
      return;
    }
    const { startAgent } = await import('../host/join/start-agent.ts');
    await startAgent({
      kubeconfigPath,
      nodeName,
      runtimeEndpoint: endpoint,
      extraArgs: [...failover, ...args['agent-arg'].map(String)],
      logDir: args['log-dir'],
      runDir: args['run-dir'],
    });
  },
};
