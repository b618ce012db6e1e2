/**
 * `bosun init`, as a script: server daemon (datastore + PKI on its first start) → /readyz → admin
 * kubeconfig in the config folder (0600) → a bootstrap token → cluster-info signed for it by the
 * server's certificate loop → the join command. The server itself owns the bootstrap RBAC and the
 * automatic approval of node CSRs, so nothing here writes them.
 */
import { defaultStorageClass, ensureDefaultStorageClass } from './default-storage-class.ts';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../kube/client.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { caCertHash } from '../../kube/bootstrap.ts';
import { createBootstrapToken, defaultBootstrapGroup } from './bootstrap-token.ts';
import { waitClusterInfoSigned } from './wait-cluster-info.ts';
import { withServerDefaults } from './server-defaults.ts';
import { startServerDaemon } from './start-server.ts';
import { daemonPlace } from './daemons.ts';
import { adminKubeconfig, serverDataDir, type NodePaths } from './node-paths.ts';

export interface InitSpec {
  paths: NodePaths;
  advertiseAddress: string;
  bindAddress: string;
  port: number;
  tokenTtlSeconds: number;
  /** Extra `bosun server` flags. */
  serverArgs: readonly string[];
  say: (line: string) => void;
}

export interface InitResult {
  server: string;
  token: string;
  caHash: string;
  adminKubeconfig: string;
  joinCommand: string;
}

/** The server's command-line flags for this machine. */
export function serverFlags(
  spec: Pick<InitSpec, 'paths' | 'advertiseAddress' | 'bindAddress' | 'port' | 'serverArgs'>,
): string[] {
  return [
    '--data-dir',
    serverDataDir(spec.paths),
    '--bind-address',
    spec.bindAddress,
    '--secure-port',
    String(spec.port),
    '--advertise-address',
    spec.advertiseAddress,
    '--tls-san',
    '127.0.0.1',
    // the copy bosun init and up make: renewed with the admin certificate
    '--admin-kubeconfig-copy',
    adminKubeconfig(spec.paths),
    ...spec.serverArgs,
  ];
}

function copyPrivate(from: string, to: string): void {
  const tmp = `${to}.${process.pid}.tmp`;
  writeFileSync(tmp, readFileSync(from), { mode: 0o600 });
  renameSync(tmp, to);
}

export async function initCluster(spec: InitSpec): Promise<InitResult> {
  const { paths, say } = spec;
  const dataDir = serverDataDir(paths);
  await startServerDaemon({
    place: daemonPlace('server', paths, dataDir),
    args: serverFlags({ ...spec, serverArgs: withServerDefaults(paths, spec.serverArgs) }),
    dataDir,
    port: spec.port,
    environmentFile: join(paths.defaultsDir, 'bosun-server'),
    say,
  });
  return await prepareJoin(paths, spec.tokenTtlSeconds, say);
}

/**
 * Once the server is ready: the admin kubeconfig in the config folder (0600), a bootstrap token,
 * cluster-info signed for it, the default StorageClass (local-path), and the join command.
 */
export async function prepareJoin(
  paths: NodePaths,
  tokenTtlSeconds: number,
  say: (line: string) => void,
): Promise<InitResult> {
  mkdirSync(paths.configDir, { recursive: true, mode: 0o755 });
  const admin = adminKubeconfig(paths);
  copyPrivate(join(serverDataDir(paths), 'admin.kubeconfig'), admin);
  say(`admin kubeconfig: ${admin}`);
  const config = loadKubeconfig(admin);
  const client = new KubeClient(config.client);
  let token: string;
  try {
    token = await createBootstrapToken(client, {
      ttlSeconds: tokenTtlSeconds,
      usages: ['signing', 'authentication'],
      groups: [defaultBootstrapGroup],
      description: 'made by bosun init',
    });
    await waitClusterInfoSigned(client, token);
    if (await ensureDefaultStorageClass(client))
      say(`default StorageClass: ${defaultStorageClass.metadata.name} (${defaultStorageClass.provisioner})`);
  } finally {
    client.close();
  }
  const server = config.client.server;
  const caHash = caCertHash(config.client.ca);
  return {
    server,
    token,
    caHash,
    adminKubeconfig: admin,
    joinCommand: `bosun join ${server} --token ${token} --discovery-token-ca-cert-hash ${caHash}`,
  };
}
