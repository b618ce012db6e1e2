/**
 * The API server over HTTP/2 (ALPN `h2`, as kube-apiserver offers it) and still over HTTP/1.1:
 * client-certificate identity on both, watches and refusals that set HTTP/1.1-only headers, one
 * unread watch not stalling its connection's other streams, and hostile HTTP/2 clients bounded.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { TLSSocket } from 'node:tls';
import { adminCall, sharedInProcess } from '../in-process.ts';
import { userIdentity } from '../server-process.ts';
import { maxStreamsPerConnection } from '../../../controlplane/api/protocol-front.ts';

const shared = sharedInProcess(test);

function session(
  identity: 'admin' | 'anonymous' | { cert?: string | undefined; key?: string | undefined } = 'admin',
): Promise<ClientHttp2Session> {
  const { admin } = shared.server();
  const pair = identity === 'admin' ? admin : identity === 'anonymous' ? {} : identity;
  const s = connect(admin.server, {
    ca: admin.ca,
    ...(pair.cert ? { cert: pair.cert, key: pair.key } : {}),
  });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

interface H2Reply {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

function read(stream: ClientHttp2Stream): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    let headers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () =>
      resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString() }),
    );
    stream.on('error', reject);
  });
}

function h2(
  s: ClientHttp2Session,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<H2Reply> {
  const stream = s.request({
    ':method': method,
    ':path': path,
    ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...headers,
  });
  stream.end(body === undefined ? undefined : JSON.stringify(body));
  return read(stream);
}

/** Resolves with the first bytes of a stream's body, or rejects after a deadline. */
function firstData(stream: ClientHttp2Stream, ms: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    stream.once('data', (c: Buffer) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
}

test.serial('the server offers h2 by ALPN and knows an HTTP/2 client by its certificate', async (t) => {
  const s = await session();
  t.teardown(() => s.close());
  t.is((s.socket as unknown as { alpnProtocol: string }).alpnProtocol, 'h2');
  const reply = await h2(s, 'GET', '/api/v1/namespaces/default');
  t.is(reply.status, 200, reply.body);
  t.is(JSON.parse(reply.body).metadata.name, 'default');
  const review = await h2(s, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
  });
  t.is(review.status, 201, review.body);
  t.is(JSON.parse(review.body).status.userInfo.username, 'kubernetes-admin');
  const metrics = await h2(s, 'GET', '/metrics');
  t.regex(metrics.body, /bosun_apiserver_open_connections\{protocol="h2"\} [1-9]/);
});

test.serial('a watch streams over HTTP/2 (its HTTP/1.1 Transfer-Encoding is not sent)', async (t) => {
  t.timeout(10_000);
  const s = await session();
  t.teardown(() => s.close());
  const stream = s.request({ ':path': '/api/v1/namespaces?watch=true' });
  const response = await once(stream, 'response');
  t.is(response[0][':status'], 200);
  t.is(response[0]['transfer-encoding'], undefined);
  const first = JSON.parse((await firstData(stream, 5_000, 'watch')).toString().split('\n')[0]!);
  t.is(first.type, 'ADDED');
  stream.close();
});

test.serial('a refusal with its body unread answers over HTTP/2 and the session serves on', async (t) => {
  t.timeout(10_000);
  const s = await session('anonymous');
  t.teardown(() => s.close());
  const stream = s.request({ ':method': 'POST', ':path': '/api/v1/namespaces', 'content-type': 'application/json' });
  // the body is still coming when the refusal is sent: HTTP/1.1 would close the connection
  stream.write('{"apiVersion":"v1","kind":"Namespace",');
  const reply = await read(stream);
  t.is(reply.status, 403, reply.body);
  t.is(reply.headers.connection, undefined);
  t.regex(JSON.parse(reply.body).message, /User "system:anonymous" cannot create resource "namespaces"/);
  const again = await h2(s, 'GET', '/version');
  t.is(again.status, 200);
  const list = await shared.client().list({ group: '', version: 'v1', resource: 'namespaces', namespaced: false });
  t.false(list.items.some((n) => n.metadata.name === ''));
});

test.serial('HTTP/1.1 clients still work: Node https without ALPN and curl --http1.1', async (t) => {
  const { admin } = shared.server();
  const status = await new Promise<{ code: number; protocol: string; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      `${admin.server}/api/v1/namespaces/default`,
      { ca: admin.ca, cert: admin.cert, key: admin.key },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, protocol: res.httpVersion, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
  t.is(status.code, 200);
  t.is(status.protocol, '1.1');
  // the server counts what each connection agreed on: these went over HTTP/1.1
  const metrics = await adminCall(shared.server(), 'GET', '/metrics');
  t.regex(String(metrics.body), /bosun_apiserver_connections_total\{protocol="http\/1\.1"\} [1-9]/);
  const dir = shared.server().dataDir;
  const { stdout } = await promisify(execFile)('curl', [
    '-sS',
    '--http1.1',
    '--cacert',
    `${dir}/pki/ca.crt`,
    '--cert',
    `${dir}/pki/admin.crt`,
    '--key',
    `${dir}/pki/admin.key`,
    '-w',
    '\n%{http_version} %{http_code}',
    `${admin.server}/api/v1/namespaces/default`,
  ]);
  t.regex(stdout, /\n1\.1 200$/);
  t.is(JSON.parse(stdout.slice(0, stdout.lastIndexOf('\n'))).metadata.name, 'default');
});

test.serial('a watch its client does not read stalls none of the other streams of its connection', async (t) => {
  t.timeout(60_000);
  const client = shared.client();
  const namespace = 'stalled-reader';
  await client.create(
    { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    },
  );
  const s = await session();
  t.teardown(() => s.destroy());
  const watch = s.request({ ':path': `/api/v1/namespaces/${namespace}/configmaps?watch=true` });
  await once(watch, 'response');
  watch.pause();
  // ~1.5 MiB of events: far more than a stream's 256 KiB window and the client's 64 KiB default
  const filler = 'x'.repeat(100 * 1024);
  for (let i = 0; i < 15; i++)
    await client.create(
      { group: '', version: 'v1', resource: 'configmaps', namespaced: true },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `filler-${i}`, namespace },
        data: { filler },
      },
    );
  const started = Date.now();
  const reply = await Promise.race([
    h2(s, 'GET', `/api/v1/namespaces/${namespace}/configmaps/filler-14`),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the second stream was stalled')), 10_000)),
  ]);
  t.is(reply.status, 200);
  t.is(JSON.parse(reply.body).metadata.name, 'filler-14');
  t.true(Date.now() - started < 10_000);
  t.false(watch.destroyed, 'the unread watch is still open');
});

test.serial('many watches behind on one connection: its other requests are still served, not refused', async (t) => {
  t.timeout(60_000);
  const client = shared.client();
  const namespace = 'many-behind';
  await client.create(
    { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
  );
  const filler = 'x'.repeat(100 * 1024);
  for (let i = 0; i < 4; i++)
    await client.create(
      { group: '', version: 'v1', resource: 'configmaps', namespaced: true },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `filler-${i}`, namespace }, data: { filler } },
    );
  const s = await session();
  t.teardown(() => s.destroy());
  // 95 watches, each with ~400 KiB of initial events it does not read: below the per-watch limit
  // that ends a slow watcher, but ~38 MiB waiting on one connection in all
  const watches = Array.from({ length: 95 }, () =>
    s.request({ ':path': `/api/v1/namespaces/${namespace}/configmaps?watch=true&resourceVersion=0` }),
  );
  await Promise.all(watches.map((w) => once(w, 'response')));
  for (const w of watches) w.pause();
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (let i = 0; i < 3; i++) {
    const reply = await h2(s, 'GET', `/api/v1/namespaces/${namespace}/configmaps/filler-${i}`);
    t.is(reply.status, 200, `request ${i} on the busy connection`);
  }
  t.false(s.destroyed, 'the connection is still open');
});

test.serial('a client that cancels its watches by the hundred, round after round, keeps its connection', async (t) => {
  t.timeout(60_000);
  const s = await session();
  t.teardown(() => s.destroy());
  let goaway = false;
  s.on('goaway', () => (goaway = true));
  // an informer restart or a bench round: 99 watches opened, then all cancelled (RST_STREAM), 18
  // times: past nghttp2's default guard (1,000 resets at once, 33 a second), below a flood
  for (let round = 0; round < 18; round++) {
    const watches = Array.from({ length: 99 }, () => s.request({ ':path': '/api/v1/namespaces?watch=true' }));
    // a stream may still be turned away while the server drops the ones just cancelled: the
    // client's transport sends those again (test/kube/client-http2.test.ts); the session must stay
    await Promise.all(watches.map((w) => Promise.race([once(w, 'response'), once(w, 'close')]).catch(() => {})));
    for (const w of watches) if (!w.closed) w.close(constants.NGHTTP2_CANCEL);
    await Promise.all(watches.map((w) => (w.closed ? undefined : once(w, 'close'))));
  }
  t.false(goaway, 'no GOAWAY');
  t.is((await h2(s, 'GET', '/version')).status, 200, 'the connection still serves');
  t.false(s.destroyed);
});

test.serial('a client opening more streams than the limit gets the rest refused; the server serves on', async (t) => {
  const { admin } = shared.server();
  // a client that sends before it has read the server's SETTINGS, as if there were no limit
  const s = connect(admin.server, { ca: admin.ca, cert: admin.cert, key: admin.key, peerMaxConcurrentStreams: 1_000 });
  t.teardown(() => s.destroy());
  s.on('error', () => {});
  const streams = Array.from({ length: maxStreamsPerConnection + 50 }, () =>
    s.request({ ':path': '/api/v1/namespaces?watch=true' }),
  );
  const outcomes = await Promise.all(
    streams.map(
      (stream) =>
        new Promise<'answered' | 'refused'>((resolve) => {
          stream.on('response', () => resolve('answered'));
          stream.on('error', () => resolve('refused'));
          stream.on('close', () =>
            resolve(stream.rstCode === constants.NGHTTP2_REFUSED_STREAM ? 'refused' : 'answered'),
          );
        }),
    ),
  );
  t.is(s.remoteSettings.maxConcurrentStreams, maxStreamsPerConnection);
  t.true(outcomes.filter((o) => o === 'answered').length <= maxStreamsPerConnection);
  t.true(outcomes.filter((o) => o === 'refused').length >= 50);
  const other = await session();
  t.teardown(() => other.close());
  t.is((await h2(other, 'GET', '/version')).status, 200);
});

test.serial('huge header blocks and a reset flood end only their own session', async (t) => {
  const hostile = await session();
  t.teardown(() => hostile.destroy());
  const huge = hostile.request({ ':path': '/version', 'x-filler': 'y'.repeat(2 * 1024 * 1024) });
  const outcome = await new Promise<string>((resolve) => {
    huge.on('response', (h) => resolve(String(h[':status'])));
    huge.on('error', (err: Error & { code?: string }) => resolve(err.code ?? 'error'));
    huge.on('close', () => resolve(`closed ${huge.rstCode}`));
  });
  t.not(outcome, '200');

  const flood = await session();
  t.teardown(() => flood.destroy());
  const floodClosed = new Promise<void>((resolve) => flood.once('close', () => resolve()));
  flood.on('error', () => {});
  for (let i = 0; i < 5_000 && !flood.destroyed && !flood.closed; i++) {
    const stream = flood.request({ ':path': '/api/v1/namespaces' });
    stream.on('error', () => {});
    stream.close(constants.NGHTTP2_CANCEL);
  }
  // the server has read the whole flood once it answers a ping on the same session (or has closed it)
  const pinged = new Promise<void>((resolve) => (flood.closed ? resolve() : flood.ping(() => resolve())));
  await Promise.race([floodClosed, pinged, new Promise((resolve) => setTimeout(resolve, 5_000))]);

  const other = await session();
  t.teardown(() => other.close());
  t.is((await h2(other, 'GET', '/api/v1/namespaces/default')).status, 200);
});

test.serial('a node and an impersonating user over HTTP/2 are held to what they may do; nothing changes', async (t) => {
  const client = shared.client();
  const nodes = { group: '', version: 'v1', resource: 'nodes', namespaced: false };
  await client.create(nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'h2-other' } });
  const node = await session(userIdentity(shared.server().dataDir, 'system:node:h2-n1', ['system:nodes']));
  t.teardown(() => node.close());
  const patched = await h2(
    node,
    'PATCH',
    '/api/v1/nodes/h2-other',
    { metadata: { labels: { stolen: 'yes' } } },
    {
      'content-type': 'application/merge-patch+json',
    },
  );
  t.is(patched.status, 403, patched.body);
  t.regex(JSON.parse(patched.body).message, /nodes "h2-other" is forbidden: User "system:node:h2-n1"/);
  const secrets = await h2(node, 'GET', '/api/v1/namespaces/kube-system/secrets');
  t.is(secrets.status, 403);

  // a user who may not impersonate cannot become the admin by asking over HTTP/2
  const user = await session(userIdentity(shared.server().dataDir, 'h2-plain-user'));
  t.teardown(() => user.close());
  const deleted = await h2(user, 'DELETE', '/api/v1/nodes/h2-other', undefined, {
    'impersonate-user': 'kubernetes-admin',
    'impersonate-group': 'system:masters',
  });
  t.is(deleted.status, 403, deleted.body);
  t.regex(JSON.parse(deleted.body).message, /User "h2-plain-user" cannot impersonate resource "users"/);

  const after = await client.get(nodes, 'h2-other');
  t.is(after.metadata.labels?.stolen, undefined, 'the label was not written');
  t.is(after.metadata.deletionTimestamp, undefined, 'the node was not deleted');
  t.is((await h2(node, 'GET', '/version')).status, 200, 'the server still answers');
});

test.serial('the client certificate is read once per HTTP/2 connection, not once per request', async (t) => {
  const s = await session();
  t.teardown(() => s.close());
  t.is((await h2(s, 'GET', '/api/v1/namespaces/default')).status, 200); // the connection's first read
  const original = TLSSocket.prototype.getPeerCertificate;
  let reads = 0;
  TLSSocket.prototype.getPeerCertificate = function (this: TLSSocket, ...args: [boolean?]) {
    reads++;
    return original.apply(this, args as [true]);
  } as typeof original;
  try {
    for (let i = 0; i < 20; i++) t.is((await h2(s, 'GET', '/api/v1/namespaces/default')).status, 200);
  } finally {
    TLSSocket.prototype.getPeerCertificate = original;
  }
  t.is(reads, 0, 'the identity of the connection was kept from its first request');
});
