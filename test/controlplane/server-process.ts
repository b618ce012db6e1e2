/**
 * `bosun server` as a child process for tests: loopback, a port the server picks, a temp data dir;
 * stopped by PID (SIGTERM, or SIGKILL for crash tests). Also an HTTPS helper that speaks to it
 * with any identity.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { issueCertificate } from '../../controlplane/pki/certificates.ts';
import { waitFor } from './ports.ts';
import { testLoopback } from './loopback-mode.ts';

const repo = resolve(import.meta.dirname, '../..');

export interface ServerProcess {
  readonly dataDir: string;
  readonly port: number;
  readonly url: string;
  readonly kubeconfig: string;
  readonly pid: number;
  /** What the server wrote to stdout and stderr so far (its JSON log lines). */
  output(): string;
  /** SIGKILL, no cleanup: a crash. */
  kill(): Promise<void>;
  /** Starts again on the same data dir (a new port). */
  restart(): Promise<ServerProcess>;
  destroy(): Promise<void>;
}

interface ServerStartOptions {
  datastore: 'sqlite' | 'etcd';
  etcdEndpoint?: string;
  /** A test etcd (etcd-process.ts): its endpoint and, when it runs TLS, the client certificate flags. */
  etcd?: { readonly serverFlags: readonly string[] };
  dataDir?: string;
  /** Run the scheduler and controllers too (default: the API alone, so scenarios see only their own writes). */
  controllers?: boolean;
  /** Extra Node options for the server process, e.g. ['--cpu-prof', '--cpu-prof-dir', dir] to profile it. */
  nodeArgs?: readonly string[];
  /** Extra `bosun server` flags, e.g. ['--cluster-cidr', '10.64.0.0/12']. */
  serverArgs?: readonly string[];
  /** A built bosun executable to run instead of the source tree (nodeArgs do not apply). */
  executable?: string;
}

export async function startServerProcess(options: ServerStartOptions): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), `bosun-server-${process.pid}-`));
  const args = [
    'server',
    '--data-dir',
    dataDir,
    '--datastore',
    options.datastore,
    '--bind-address',
    '127.0.0.1',
    '--secure-port',
    '0',
    ...(options.etcdEndpoint ? ['--etcd-endpoints', options.etcdEndpoint] : []),
    ...(options.etcd?.serverFlags ?? []),
    ...(options.controllers ? [] : ['--no-controllers']),
    ...(testLoopback() !== undefined ? ['--controllers-loopback', testLoopback()!] : []),
    ...(options.serverArgs ?? []),
  ];
  // with Node's compile cache, as bin/bosun runs the server: a cold start strips the types of every
  // module again, which on a busy machine took longer than the wait below
  const env = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? '/var/cache/bosun/node' };
  const argv =
    options.executable !== undefined
      ? [options.executable, ...args]
      : [process.execPath, ...(options.nodeArgs ?? []), join(repo, 'cli/main.ts'), ...args];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let output = '';
  let port = 0;
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const match = output.match(/"port":(\d+)/);
    if (match && port === 0) port = Number(match[1]);
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // the parent exiting early (Ctrl-C on a bench) must not leave the server or its folder behind
  const killNow = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', killNow);
  try {
    await waitFor(
      'bosun server to report its port',
      () => {
        if (child.exitCode !== null) throw new Error(`bosun server exited ${child.exitCode}: ${output.slice(-500)}`);
        return port !== 0;
      },
      90_000,
    );
  } catch (err) {
    // a server that never came up must not outlive the test (nor keep its worker alive)
    killNow();
    throw new Error(`${(err as Error).message} (output: ${output.slice(-500)})`);
  }
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    process.removeListener('exit', killNow);
  };
  const self: ServerProcess = {
    dataDir,
    port,
    url: `https://127.0.0.1:${port}`,
    kubeconfig: join(dataDir, 'admin.kubeconfig'),
    pid: child.pid ?? -1,
    output: () => output,
    kill: () => stop('SIGKILL'),
    restart: async () => {
      await stop('SIGTERM');
      return startServerProcess({ ...options, dataDir });
    },
    destroy: async () => {
      await stop('SIGTERM');
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}

/** cert and key may come straight from a kubeconfig that has none (a token user's). */
export interface Identity {
  cert?: string | undefined;
  key?: string | undefined;
  token?: string;
}

export function adminIdentity(dataDir: string): Identity {
  return {
    cert: readFileSync(join(dataDir, 'pki/admin.crt'), 'utf8'),
    key: readFileSync(join(dataDir, 'pki/admin.key'), 'utf8'),
  };
}

/** A client certificate for `user` (in `groups`), signed by the server's cluster CA. */
export function userIdentity(dataDir: string, user: string, groups: readonly string[] = []): Identity {
  const ca = {
    cert: readFileSync(join(dataDir, 'pki/ca.crt'), 'utf8'),
    key: readFileSync(join(dataDir, 'pki/ca.key'), 'utf8'),
  };
  const pair = issueCertificate(ca, { commonName: user, organizations: [...groups], usage: 'client' });
  return { cert: pair.cert, key: pair.key };
}

/**
 * Creates `namespace` and makes `user` its admin (a RoleBinding to the ClusterRole `admin`, as
 * `kubectl create rolebinding --clusterrole=admin --user=<user>` does); returns the user's identity.
 */
export async function namespaceAdmin(
  server: { dataDir: string; port: number },
  namespace: string,
  user: string,
): Promise<Identity> {
  const admin = adminIdentity(server.dataDir);
  const ns = await call(server, 'POST', '/api/v1/namespaces', admin, { metadata: { name: namespace } });
  if (ns.status !== 201) throw new Error(`creating namespace ${namespace}: ${ns.status} ${JSON.stringify(ns.body)}`);
  const binding = await call(
    server,
    'POST',
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`,
    admin,
    {
      metadata: { name: `${user}-admin` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  );
  if (binding.status !== 201)
    throw new Error(`binding ${user} to admin: ${binding.status} ${JSON.stringify(binding.body)}`);
  const identity = userIdentity(server.dataDir, user);
  // the authorizer's policy cache follows bindings through a watch: wait until it has this one
  await waitFor(
    `${user} to be admin of ${namespace}`,
    async () => (await call(server, 'GET', `/api/v1/namespaces/${namespace}/pods`, identity)).status === 200,
    10_000,
  );
  return identity;
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

const agents = new Map<string, Agent>();
/** Keep-alive connections per server and client certificate, so tests do not pay a TLS handshake per call. */
function agentFor(port: number, ca: string, identity: Identity): Agent {
  const key = `${port}|${identity.cert ?? ''}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({ keepAlive: true, ca, ...(identity.cert ? { cert: identity.cert, key: identity.key } : {}) });
    agents.set(key, agent);
  }
  return agent;
}

/** One HTTPS request to the server, verifying it with the cluster CA. */
export async function call(
  server: { dataDir: string; port: number },
  method: string,
  path: string,
  identity: Identity = {},
  body?: unknown,
  contentType = 'application/json',
  extraHeaders: Record<string, string> = {},
): Promise<HttpReply> {
  const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        headers: {
          ...(identity.token ? { Authorization: `Bearer ${identity.token}` } : {}),
          ...(payload !== undefined
            ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
            : {}),
          ...extraHeaders,
        },
        agent: agentFor(server.port, ca, identity),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain text (health endpoints)
          }
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** One HTTPS request whose reply body is kept as bytes (protobuf, watch streams). */
export async function callBytes(
  server: { dataDir: string; port: number },
  method: string,
  path: string,
  identity: Identity,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: Buffer }> {
  const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
  return new Promise((resolvePromise, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        headers: { ...headers, ...(body ? { 'Content-Length': body.length } : {}) },
        agent: agentFor(server.port, ca, identity),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}
