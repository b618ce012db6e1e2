/**
 * `bosun server` on an etcd that serves TLS and demands client certificates (--client-cert-auth):
 * with --etcd-cafile/--etcd-certfile/--etcd-keyfile it works; without the client certificate it
 * stops with one line saying the datastore is not reachable.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';
import { adminIdentity, call, startServerProcess, type ServerProcess } from '../server-process.ts';

let etcd: EtcdProcess;
let server: ServerProcess | undefined;
test.before(async () => {
  etcd = await startEtcd();
});
test.after.always(async () => {
  await server?.destroy();
  await etcd?.destroy();
});

test.serial('with the client certificate the server stores and serves through TLS', async (t) => {
  t.true(etcd.endpoint.startsWith('https://'));
  server = await startServerProcess({ datastore: 'etcd', etcd });
  const admin = adminIdentity(server.dataDir);
  const created = await call(server, 'POST', '/api/v1/namespaces/default/configmaps', admin, {
    metadata: { name: 'over-tls' },
    data: { a: 'b' },
  });
  t.is(created.status, 201);
  t.is((await call(server, 'GET', '/api/v1/namespaces/default/configmaps/over-tls', admin)).body.data.a, 'b');
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});

const repo = resolve(import.meta.dirname, '../../..');
/** As bin/bosun runs it (which silences grpc-js' notice about IP server names). */
function serverExit(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), `bosun-etcd-tls-${process.pid}-`));
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=DEP0123',
        join(repo, 'cli/main.ts'),
        'server',
        '--data-dir',
        dataDir,
        '--bind-address',
        '127.0.0.1',
        '--secure-port',
        '0',
        '--datastore',
        'etcd',
        ...args,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
      done({ code, stderr });
    });
  });
}

test('without the client certificate the server stops with one line', async (t) => {
  const result = await serverExit(['--etcd-endpoints', etcd.endpoint, '--etcd-cafile', etcd.files!.ca]);
  t.is(result.code, 1);
  const lines = result.stderr.trim().split('\n');
  t.is(lines.length, 1, result.stderr);
  t.regex(lines[0]!, /the etcd datastore is not reachable/);
});

test('a half-given client pair is a usage error', async (t) => {
  const result = await serverExit([
    '--etcd-endpoints',
    etcd.endpoint,
    '--etcd-cafile',
    etcd.files!.ca,
    '--etcd-certfile',
    etcd.files!.cert,
  ]);
  t.is(result.code, 2);
  t.is(result.stderr.trim(), 'bosun: --etcd-certfile and --etcd-keyfile go together');
});
