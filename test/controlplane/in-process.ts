/** `bosun server` started inside the test process (for tests that reach into its datastore). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startServer, type RunningServer, type ServerOptions } from '../../controlplane/server.ts';
import type { TestFn } from 'ava';
import { KubeClient, type ClientConfig } from '../../kube/client.ts';
import { call, type HttpReply } from './server-process.ts';
import { testLoopback } from './loopback-mode.ts';

const loopbackOption = (loopback: ServerOptions['controllersLoopback']) =>
  loopback === undefined ? {} : { controllersLoopback: loopback };

export interface InProcessServer {
  readonly server: RunningServer;
  readonly dataDir: string;
  readonly admin: ClientConfig;
  destroy(): Promise<void>;
}

export async function startInProcess(
  options: {
    bookmarkIntervalMs?: number;
    datastore?: 'sqlite' | 'etcd';
    defaultTolerationSeconds?: ServerOptions['defaultTolerationSeconds'];
    /** What /version says as the server's bosun version (node agents check their skew against it). */
    bosunVersion?: string;
    /** A test etcd (etcd-process.ts): its endpoint and, when it runs TLS, the client certificate. */
    etcd?: { readonly endpoint: string; readonly clientTls: ServerOptions['etcdTls'] };
    certificates?: Pick<
      ServerOptions,
      'certificateLifetimeMs' | 'certificateCheckIntervalMs' | 'adminKubeconfigCopies'
    >;
    audit?: ServerOptions['audit'];
    /** Run the scheduler and controllers too (absent: the API alone). */
    controlLoops?: ServerOptions['controlLoops'];
    /** How the loops reach the API (absent: testLoopback(), the server's default when unset). */
    controllersLoopback?: ServerOptions['controllersLoopback'];
    /** Reach nodes and pods through the CONNECT proxy on this unix socket (`--kubelet-egress-socket`). */
    kubeletEgressSocket?: string;
    /** How often kubelets are scraped for metrics.k8s.io (default 15 s). */
    metricResolutionMs?: number;
  } = {},
): Promise<InProcessServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `bosun-inproc-${process.pid}-`));
  const server = await startServer({
    dataDir,
    datastore: options.datastore ?? 'sqlite',
    etcdEndpoints: options.etcd ? [options.etcd.endpoint] : [],
    ...(options.etcd?.clientTls ? { etcdTls: options.etcd.clientTls } : {}),
    bindAddress: '127.0.0.1',
    securePort: 0,
    advertiseAddress: '127.0.0.1',
    serviceCidr: '10.96.0.0/12',
    tlsSans: [],
    compactionIntervalMs: 3_600_000,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    logger: pino({ level: 'silent' }),
    kubernetesVersion: 'v1.32.0',
    ...(options.bosunVersion !== undefined ? { bosunVersion: options.bosunVersion } : {}),
    ...(options.defaultTolerationSeconds !== undefined
      ? { defaultTolerationSeconds: options.defaultTolerationSeconds }
      : {}),
    ...options.certificates,
    ...(options.audit ? { audit: options.audit } : {}),
    ...(options.controlLoops ? { controlLoops: options.controlLoops } : {}),
    ...loopbackOption(options.controllersLoopback ?? testLoopback()),
    ...(options.kubeletEgressSocket ? { kubeletEgressSocket: options.kubeletEgressSocket } : {}),
    ...(options.metricResolutionMs !== undefined ? { metricResolutionMs: options.metricResolutionMs } : {}),
  });
  const pki = (name: string) => readFileSync(join(dataDir, 'pki', name), 'utf8');
  return {
    server,
    dataDir,
    admin: { server: server.url, ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') },
    destroy: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One in-process server and an admin client shared by a test file's tests: started before the
 * first, stopped after the last (also when one fails). Call it at the top level of the file.
 */
export function sharedInProcess(
  test: TestFn,
  options: Parameters<typeof startInProcess>[0] = {},
): { client(): KubeClient; server(): InProcessServer } {
  let server: InProcessServer | undefined;
  let client: KubeClient | undefined;
  test.before(async () => {
    server = await startInProcess(options);
    client = new KubeClient(server.admin);
  });
  test.after.always(async () => {
    client?.close();
    await server?.destroy();
  });
  return { client: () => client!, server: () => server! };
}

/** Where `call` (server-process.ts) reaches an in-process server, and its admin's identity. */
export function callTarget(s: InProcessServer): {
  endpoint: { dataDir: string; port: number };
  admin: { cert: string; key: string };
} {
  return {
    endpoint: { dataDir: s.dataDir, port: Number(new URL(s.server.url).port) },
    admin: { cert: s.admin.cert ?? '', key: s.admin.key ?? '' },
  };
}

/** One HTTPS request to an in-process server as its admin; the reply keeps its status code. */
export function adminCall(
  running: InProcessServer,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const { server, dataDir, admin } = running;
  return call(
    { dataDir, port: Number(new URL(server.url).port) },
    method,
    path,
    { cert: admin.cert, key: admin.key },
    body,
    contentType,
    headers,
  );
}
