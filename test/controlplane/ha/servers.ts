/**
 * Several `bosun server` processes on one etcd, for the high-availability tests and the ha bench:
 * the first makes the cluster PKI, the others start from a copy of its pki folder (the same CA,
 * service-account key and front-proxy CA) until joining servers can fetch them themselves. Each
 * writes an audit log of the writes it served, so a test can tell whose controllers wrote what.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../server-process.ts';

/** Short timings that keep upstream's proportions (lease > deadline > 1.2 × retry). */
export const fastElection = [
  '--leader-elect-lease-duration',
  '4s',
  '--leader-elect-renew-deadline',
  '3s',
  '--leader-elect-retry-period',
  '1s',
];

const writesOnly = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

export interface HaServer {
  readonly process: ServerProcess;
  readonly auditLog: string;
  /** The holderIdentity this server campaigns with (from its start-up log). */
  identity(): string;
  /** When (epoch ms, from its log) it became or stopped being leader of `lease`. */
  leadership(lease: string): { readonly msg: 'became leader' | 'stopped leading'; readonly time: number }[];
  /** Writes its scheduler and controllers sent (from its audit log). */
  componentWrites(): {
    readonly userAgent: string;
    readonly verb: string;
    readonly received: number;
    readonly code: number;
  }[];
}

interface HaServerOptions {
  /** `--etcd-endpoints` and TLS flags (etcd-process.ts's serverFlags, perhaps through a relay). */
  readonly etcdFlags: readonly string[];
  /** A server (or a copy of its data folder) whose pki folder this one starts from; absent: a new cluster. */
  readonly sharePkiWith?: Pick<ServerProcess, 'dataDir'>;
  readonly serverArgs?: readonly string[];
  /** Run the scheduler and controllers (default true). */
  readonly controllers?: boolean;
}

function logLines(text: string): Record<string, any>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, any>;
      } catch {
        return {};
      }
    });
}

export async function startHaServer(options: HaServerOptions): Promise<HaServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `bosun-ha-${process.pid}-`));
  // also when the test process ends early (a timeout): the server process is killed by its own hook
  process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  if (options.sharePkiWith)
    cpSync(join(options.sharePkiWith.dataDir, 'pki'), join(dataDir, 'pki'), { recursive: true });
  const auditLog = join(dataDir, 'audit.log');
  const policy = join(dataDir, 'audit-policy.yaml');
  writeFileSync(policy, writesOnly);
  const server = await startServerProcess({
    datastore: 'etcd',
    etcd: { serverFlags: options.etcdFlags },
    dataDir,
    controllers: options.controllers ?? true,
    serverArgs: ['--audit-policy-file', policy, '--audit-log-path', auditLog, ...(options.serverArgs ?? [])],
  });
  return {
    process: server,
    auditLog,
    identity: () => logLines(server.output()).find((l) => l.msg === 'leader election candidate')?.identity ?? '',
    leadership: (lease) =>
      logLines(server.output())
        .filter((l) => (l.msg === 'became leader' || l.msg === 'stopped leading') && l.lease === lease)
        .map((l) => ({ msg: l.msg, time: l.time })),
    componentWrites: () => {
      let text = '';
      try {
        text = readFileSync(auditLog, 'utf8');
      } catch {
        return [];
      }
      return logLines(text)
        .filter((e) => /^kube-(controller-manager|scheduler)\//.test(e.userAgent ?? ''))
        .map((e) => ({
          userAgent: e.userAgent,
          verb: e.verb,
          received: Date.parse(e.requestReceivedTimestamp),
          code: e.responseStatus?.code ?? 0,
        }));
    },
  };
}

/** `serverFlags` of a test etcd with its endpoint replaced (to send one server through a relay). */
export function throughRelay(serverFlags: readonly string[], relayAddress: string): string[] {
  return serverFlags.map((flag) =>
    flag.startsWith('https://') || flag.startsWith('http://') ? flag.replace(/\/\/[^/]+$/, `//${relayAddress}`) : flag,
  );
}

/** Stops every server (SIGTERM; a killed one is already gone) and removes its folder. */
export async function stopHaServers(servers: readonly (HaServer | undefined)[]): Promise<void> {
  for (const server of servers) {
    if (server === undefined) continue;
    await server.process.destroy();
    rmSync(server.process.dataDir, { recursive: true, force: true });
  }
}

/** A one-replica Deployment labelled app=<name>: work for the controllers, whose ReplicaSet shows they ran. */
export function deployment(name: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    },
  };
}
