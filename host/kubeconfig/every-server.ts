/**
 * A kubeconfig that names every live API server of a cluster. kubectl talks to the one server of
 * its context's cluster entry and never fails over, so a cluster of several servers gets one
 * cluster entry and one context per server (the same CA and credentials), beside the context the
 * kubeconfig had, which stays the current one: when a server dies, `kubectl --context <another>`
 * reaches the next. The servers are the `kubernetes` Endpoints in default, which the servers keep
 * to those whose kube-system/apiserver-<id> lease is alive (controlplane/apiserver-leases/).
 */
import { isIP } from 'node:net';
import yaml from 'js-yaml';
import type { LoadedKubeconfig } from '../../kube/kubeconfig.ts';

/** The parts of the `kubernetes` Endpoints read here. */
export interface ServerEndpoints {
  readonly subsets?: readonly {
    readonly addresses?: readonly { readonly ip?: string }[];
    readonly ports?: readonly { readonly name?: string; readonly port?: number }[];
  }[];
}

/**
 * https:// URLs of the servers listed, in order, each once. Only an IP address and a port number
 * make a URL: anything else in the object is not a server this kubeconfig should send its
 * credentials to, and is left out.
 */
export function listedServerUrls(endpoints: ServerEndpoints): string[] {
  const urls = new Set<string>();
  for (const subset of endpoints.subsets ?? []) {
    const port = (subset.ports ?? []).find((p) => p.name === 'https' || p.name === undefined)?.port;
    if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    for (const { ip } of subset.addresses ?? []) {
      const family = isIP(ip ?? '');
      if (family === 0) continue;
      urls.add(`https://${family === 6 ? `[${ip}]` : ip}:${port}`);
    }
  }
  return [...urls];
}

/** The context (and cluster entry) name for one server: `<cluster>-<host>:<port>`. */
export function serverContextName(cluster: string, url: string): string {
  return `${cluster}-${new URL(url).host}`;
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

/**
 * The kubeconfig `base` was loaded from, self-contained (certificates inline), with a context per
 * URL in `servers`. Pure: the caller reads the files and the cluster, and writes the result.
 */
export function kubeconfigForEveryServer(base: LoadedKubeconfig, servers: readonly string[]): string {
  const { client } = base;
  const cluster = (name: string, server: string) => ({
    name,
    cluster: { server, 'certificate-authority-data': base64(client.ca) },
  });
  const context = (name: string, clusterName: string) => ({
    name,
    context: {
      cluster: clusterName,
      user: base.user,
      ...(base.namespace !== 'default' ? { namespace: base.namespace } : {}),
    },
  });
  const perServer = servers
    .map((url) => ({ url, name: serverContextName(base.cluster, url) }))
    .filter(({ name }) => name !== base.cluster && name !== base.context);
  return yaml.dump(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster(base.cluster, client.server), ...perServer.map(({ name, url }) => cluster(name, url))],
      users: [
        {
          name: base.user,
          user: {
            ...(client.cert ? { 'client-certificate-data': base64(client.cert) } : {}),
            ...(client.key ? { 'client-key-data': base64(client.key) } : {}),
            ...(client.token ? { token: client.token } : {}),
          },
        },
      ],
      contexts: [context(base.context, base.cluster), ...perServer.map(({ name }) => context(name, name))],
      'current-context': base.context,
      preferences: {},
    },
    { lineWidth: -1, noRefs: true },
  );
}
