/**
 * Join discovery: read kube-public/cluster-info without trusting the server yet, then trust it only
 * if (1) the kubeconfig in it is signed with our bootstrap token (detached HS256 JWS) and (2) the CA
 * in it matches one of the pinned hashes. Also reads the server's clock from the Date header.
 */
import { request } from 'node:https';
import yaml from 'js-yaml';
import { caCertHash, verifyDetached, type BootstrapToken } from '../../kube/bootstrap.ts';
import { JoinError } from './errors.ts';

export interface DiscoveredCluster {
  /** PEM of the cluster CA, now trusted. */
  caPem: string;
  caHash: string;
  /** The server's clock minus ours, in ms, from its Date header. */
  clockOffsetMs: number;
}

interface ClusterInfo {
  data?: Record<string, string>;
}

function fetchInsecure(
  url: URL,
  timeoutMs: number,
): Promise<{ status: number; body: string; date: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port || 443,
        path: '/api/v1/namespaces/kube-public/configmaps/cluster-info',
        method: 'GET',
        rejectUnauthorized: false,
        timeout: timeoutMs,
        headers: { Accept: 'application/json' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, date: res.headers.date }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function discover(
  server: string,
  token: BootstrapToken,
  pins: readonly string[],
  timeoutMs = 10_000,
): Promise<DiscoveredCluster> {
  const url = new URL(server);
  let reply;
  const sentAt = Date.now();
  try {
    reply = await fetchInsecure(url, timeoutMs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new JoinError(
      'JOIN_UNREACHABLE',
      `cannot reach ${server} (${code ?? (err as Error).message}): is bosun server running, and reachable from this node?`,
    );
  }
  if (reply.status !== 200) {
    throw new JoinError(
      'JOIN_NO_CLUSTER_INFO',
      `${server} answered ${reply.status} for kube-public/cluster-info: is it a bosun server (or a cluster made with bosun init)?`,
    );
  }
  const receivedAt = Date.now();
  const serverTime = reply.date ? Date.parse(reply.date) : Number.NaN;
  // the Date header has second resolution; compare with the middle of the round trip
  const clockOffsetMs = Number.isNaN(serverTime) ? 0 : serverTime + 500 - (sentAt + receivedAt) / 2;

  let info: ClusterInfo;
  try {
    info = JSON.parse(reply.body) as ClusterInfo;
  } catch {
    throw new JoinError('JOIN_NO_CLUSTER_INFO', `${server} sent a cluster-info that is not JSON`);
  }
  const kubeconfig = info.data?.kubeconfig;
  if (!kubeconfig)
    throw new JoinError('JOIN_NO_CLUSTER_INFO', 'cluster-info has no kubeconfig: the server is not set up for joining');
  const signature = info.data?.[`jws-kubeconfig-${token.id}`];
  if (!signature) {
    throw new JoinError(
      'JOIN_BAD_TOKEN',
      `the server does not know token ${token.id} (expired, deleted or never made): on the server, run bosun token create --print-join-command`,
    );
  }
  const verdict = verifyDetached(kubeconfig, signature, token);
  if (!verdict.ok)
    throw new JoinError(
      'JOIN_BAD_TOKEN',
      `cluster-info is not signed with this token (${verdict.reason}): check --token`,
    );

  let caPem: string;
  try {
    const doc = yaml.load(kubeconfig) as { clusters?: { cluster?: { 'certificate-authority-data'?: string } }[] };
    caPem = Buffer.from(doc.clusters?.[0]?.cluster?.['certificate-authority-data'] ?? '', 'base64').toString('utf8');
  } catch {
    throw new JoinError('JOIN_NO_CLUSTER_INFO', 'the kubeconfig in cluster-info is not valid YAML');
  }
  if (!caPem.includes('BEGIN CERTIFICATE'))
    throw new JoinError('JOIN_NO_CLUSTER_INFO', 'the kubeconfig in cluster-info carries no CA certificate');
  const caHash = caCertHash(caPem);
  if (!pins.includes(caHash)) {
    throw new JoinError(
      'JOIN_CA_MISMATCH',
      `the cluster CA is ${caHash}, which matches none of the pinned hashes (${pins.join(', ')}): check --discovery-token-ca-cert-hash`,
    );
  }
  return { caPem, caHash, clockOffsetMs };
}

/**
 * Discovery through the first of `servers` that answers: one that cannot be reached is skipped,
 * any other refusal (a bad token, another CA) is final, since every server of a cluster says the same.
 */
export async function discoverAny<T>(
  servers: readonly URL[],
  discoverOne: (server: URL) => Promise<T>,
): Promise<{ server: URL; cluster: T }> {
  let unreachable: unknown;
  for (const server of servers) {
    try {
      return { server, cluster: await discoverOne(server) };
    } catch (err) {
      if (!(err instanceof JoinError) || err.code !== 'JOIN_UNREACHABLE') throw err;
      unreachable = err;
    }
  }
  throw unreachable ?? new JoinError('JOIN_UNREACHABLE', 'no server to join');
}
