/**
 * `bosun kubeconfig [--all-servers] [--output FILE]`: the admin kubeconfig, self-contained; with
 * --all-servers, with a context per live API server besides (host/kubeconfig/every-server.ts), so
 * that kubectl can be pointed at another server when the one it used dies.
 */
import type { CommandModule } from 'yargs';
import type { ServerEndpoints } from '../host/kubeconfig/every-server.ts';
import type { KubeObject } from '../kube/types.ts';
import { CliError, ExitCode } from './exit.ts';

interface KubeconfigArgs {
  kubeconfig: string | undefined;
  'all-servers': boolean;
  output: string | undefined;
}

const defaultKubeconfig = '/etc/bosun/admin.kubeconfig';

export const kubeconfigCommand: CommandModule<object, KubeconfigArgs> = {
  command: 'kubeconfig',
  describe: 'Print the admin kubeconfig, with a context per live API server (--all-servers)',
  builder: (y) =>
    y
      .option('kubeconfig', {
        type: 'string',
        describe: `The kubeconfig to start from (default: $KUBECONFIG, then ${defaultKubeconfig})`,
      })
      .option('all-servers', {
        type: 'boolean',
        default: false,
        describe:
          "Add a context named <cluster>-<address>:<port> for every server in the kubernetes Service's endpoints (the live ones)",
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        describe: 'Write it to this file (0600) instead of stdout',
      })
      .example('$0 kubeconfig --all-servers -o ~/.kube/config', '')
      .example('kubectl --context bosun-10.0.0.12:6443 get nodes', 'use the second server'),
  handler: async (args) => {
    const [{ loadKubeconfig, kubeconfigPath }, { KubeconfigError }, every] = await Promise.all([
      import('../kube/kubeconfig.ts'),
      import('../kube/errors.ts'),
      import('../host/kubeconfig/every-server.ts'),
    ]);
    let base: ReturnType<typeof loadKubeconfig>;
    try {
      base = loadKubeconfig(kubeconfigPath(args.kubeconfig, defaultKubeconfig));
    } catch (err) {
      if (err instanceof KubeconfigError) throw new CliError(`${err.message} (pass --kubeconfig)`, ExitCode.usage);
      throw err;
    }
    let servers: string[] = [];
    if (args['all-servers']) {
      const [{ KubeClient }, { refs }] = await Promise.all([
        import('../kube/client.ts'),
        import('../kube/resource-ref.ts'),
      ]);
      const client = new KubeClient({ ...base.client, timeoutMs: 10_000 });
      try {
        servers = every.listedServerUrls(
          await client.get<KubeObject & ServerEndpoints>(refs.endpoints, 'kubernetes', 'default'),
        );
      } catch (err) {
        // refused, unreachable or not allowed: one line either way
        throw new CliError(
          `reading the kubernetes Service's endpoints from ${base.client.server}: ${(err as Error).message}`,
        );
      } finally {
        client.close();
      }
    }
    const text = every.kubeconfigForEveryServer(base, servers);
    if (args.output === undefined) {
      process.stdout.write(text);
      return;
    }
    const { writeFileAtomically } = await import('../kube/atomic-file.ts');
    writeFileAtomically(args.output, text, 0o600);
    const contexts = servers.map((url) => every.serverContextName(base.cluster, url));
    process.stderr.write(
      `wrote ${args.output}: current context ${base.context}${contexts.length > 0 ? `; one per server: ${contexts.join(', ')}` : ''}\n`,
    );
  },
};
