/**
 * `bosun server join`, as a script: discovery (cluster-info verified by the token and the CA pin,
 * the same channel a node joins through) → the sealed control-plane material, opened with the
 * certificate key → the shared files laid out → `bosun server` on the same etcd, started as
 * `bosun init` starts its own (unit or detached), issuing its serving certificate with this
 * machine's names → the admin kubeconfig in the config folder.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootstrapToken } from '../../kube/bootstrap.ts';
import { discover } from '../join/discovery.ts';
import { fetchControlPlaneMaterial, layOutControlPlaneMaterial } from '../join/control-plane-join.ts';
import { withAuditLog } from './audit-defaults.ts';
import { daemonPlace } from './daemons.ts';
import { serverFlags } from './init-cluster.ts';
import { adminKubeconfig, serverDataDir, type NodePaths } from './node-paths.ts';
import { startServerDaemon } from './start-server.ts';

export interface ServerJoinSpec {
  /** A running server, https://host:port. */
  server: string;
  token: BootstrapToken;
  tokenText: string;
  pins: readonly string[];
  certificateKey: Buffer;
  paths: NodePaths;
  advertiseAddress: string;
  bindAddress: string;
  port: number;
  /** The cluster's datastore flags (--datastore etcd --etcd-endpoints …) and any other server flag. */
  serverArgs: readonly string[];
  /** Lay the files out and return the flags, without starting the server. */
  start: boolean;
  say: (line: string) => void;
}

export interface ServerJoinResult {
  /** The flags `bosun server` runs (or would run) with. */
  serverArgs: string[];
  adminKubeconfig: string | undefined;
}

export async function joinServer(spec: ServerJoinSpec): Promise<ServerJoinResult> {
  const { paths, say } = spec;
  const cluster = await discover(spec.server, spec.token, spec.pins);
  say(`${spec.server} verified: CA ${cluster.caHash}, token ${spec.token.id}`);
  const files = await fetchControlPlaneMaterial(spec.server, cluster.caPem, spec.tokenText, spec.certificateKey);
  const laidOut = layOutControlPlaneMaterial(paths, files);
  say(
    `cluster CA, service-account key and front-proxy CA written to ${join(serverDataDir(paths), 'pki')}${
      laidOut.encryptionConfigPath ? `, encryption keys to ${laidOut.encryptionConfigPath}` : ''
    }`,
  );
  const encryption = laidOut.encryptionConfigPath ? ['--encryption-provider-config', laidOut.encryptionConfigPath] : [];
  const args = serverFlags({
    paths,
    advertiseAddress: spec.advertiseAddress,
    bindAddress: spec.bindAddress,
    port: spec.port,
    serverArgs: withAuditLog(paths, [...encryption, ...spec.serverArgs]),
  });
  if (!spec.start) return { serverArgs: args, adminKubeconfig: undefined };
  const dataDir = serverDataDir(paths);
  await startServerDaemon({
    place: daemonPlace('server', paths, dataDir),
    args,
    dataDir,
    port: spec.port,
    environmentFile: join(paths.defaultsDir, 'bosun-server'),
    say,
  });
  mkdirSync(paths.configDir, { recursive: true, mode: 0o755 });
  const admin = adminKubeconfig(paths);
  const tmp = `${admin}.${process.pid}.tmp`;
  writeFileSync(tmp, readFileSync(join(dataDir, 'admin.kubeconfig')), { mode: 0o600 });
  renameSync(tmp, admin);
  return { serverArgs: args, adminKubeconfig: admin };
}
