/**
 * Limits that keep one client from taking the API server down, played by a namespace admin against
 * a real server process: request bodies (chunked and protobuf too), JSON patch operations and the
 * copy bomb, stored object size, malformed escapes, and watchers that never read. Each refusal is
 * checked for its code and words, for nothing having changed, and for the server still answering.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import {
  adminIdentity,
  call,
  namespaceAdmin,
  startServerProcess,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';
import { waitFor } from '../controlplane/ports.ts';

let server: ServerProcess;
let admin: Identity;
let alice: Identity;
const ns = 'team-limits';
const MiB = 1024 * 1024;

test.before(async () => {
  // a small heap: should a bomb get through again, the server dies fast instead of eating the machine
  server = await startServerProcess({ datastore: 'sqlite', nodeArgs: ['--max-old-space-size=1024'] });
  admin = adminIdentity(server.dataDir);
  alice = await namespaceAdmin(server, ns, 'alice');
});
test.after.always(async () => {
  await server?.destroy();
});

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function serverStillAnswers(t: { is: (a: unknown, b: unknown, m?: string) => void }): Promise<void> {
  t.is((await call(server, 'GET', '/readyz')).status, 200, '/readyz');
  t.is((await call(server, 'GET', `/api/v1/namespaces/${ns}/configmaps`, alice)).status, 200, 'a normal list');
}

/**
 * A request on a connection of its own, its body sent piece by piece (chunked unless the headers
 * declare a length) and answered whenever the server likes: a reset after the answer (the server
 * refusing the rest of a body) is no error.
 */
async function streamed(
  method: string,
  path: string,
  identity: Identity,
  headers: Record<string, string | number>,
  chunks: Buffer[],
): Promise<{ status: number; body: any }> {
  const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        ca,
        cert: identity.cert,
        key: identity.key,
        agent: false,
        headers,
      },
      (res) => {
        answered = true;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text });
        });
      },
    );
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const writeNext = (i: number) => {
      if (i === chunks.length) return req.end();
      if (req.destroyed) return;
      req.write(chunks[i], () => writeNext(i + 1));
    };
    writeNext(0);
  });
}

/** One JSON request on a connection of its own (no kept-alive connection shared with other calls). */
function freshCall(
  method: string,
  path: string,
  identity: Identity,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  if (body === undefined) return streamed(method, path, identity, {}, []);
  const payload = Buffer.from(JSON.stringify(body));
  return streamed(method, path, identity, { 'Content-Type': 'application/json', 'Content-Length': payload.length }, [
    payload,
  ]);
}

test.serial(
  "a JSON patch copy bomb is refused early with upstream's words; nothing changes and memory stays bounded",
  async (t) => {
    const path = `/api/v1/namespaces/${ns}/configmaps/bomb`;
    t.is(
      (
        await call(server, 'POST', `/api/v1/namespaces/${ns}/configmaps`, alice, {
          metadata: { name: 'bomb' },
          data: { seed: 'x'.repeat(4096) },
        })
      ).status,
      201,
    );
    const before = (await call(server, 'GET', path, alice)).body;
    const rssBefore = rssMiB(server.pid);
    // each copy puts the whole of data into itself: the object doubles with every operation
    const ops = Array.from({ length: 30 }, (_, i) => ({ op: 'copy', from: '/data', path: `/data/k${i}` }));
    const reply = await call(server, 'PATCH', path, alice, ops, 'application/json-patch+json');
    const rssAfter = rssMiB(server.pid);
    t.log(`server RSS around the copy bomb: ${rssBefore.toFixed(0)} MiB before, ${rssAfter.toFixed(0)} MiB after`);
    t.is(reply.status, 422, JSON.stringify(reply.body).slice(0, 300));
    t.is(reply.body.reason, 'Invalid');
    t.regex(
      reply.body.details.causes[0].message,
      /^Unable to complete the copy, the accumulated size increase of copy is \d+, exceeding the limit 3145728$/,
    );
    t.true(rssAfter - rssBefore < 150, `RSS grew ${(rssAfter - rssBefore).toFixed(0)} MiB`);
    t.deepEqual((await call(server, 'GET', path, alice)).body, before);
    await serverStillAnswers(t);
  },
);

test.serial('a JSON patch of more than 10,000 operations is 413', async (t) => {
  const path = `/api/v1/namespaces/${ns}/configmaps/many-ops`;
  t.is(
    (
      await call(server, 'POST', `/api/v1/namespaces/${ns}/configmaps`, alice, {
        metadata: { name: 'many-ops' },
        data: { a: '1' },
      })
    ).status,
    201,
  );
  const before = (await call(server, 'GET', path, alice)).body;
  const ops = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/data/a', value: '1' }));
  const reply = await call(server, 'PATCH', path, alice, ops, 'application/json-patch+json');
  t.is(reply.status, 413);
  t.is(reply.body.reason, 'RequestEntityTooLarge');
  t.is(
    reply.body.message,
    'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
  );
  t.deepEqual((await call(server, 'GET', path, alice)).body, before);
  // 10,000 is still fine
  t.is((await call(server, 'PATCH', path, alice, ops.slice(1), 'application/json-patch+json')).status, 200);
  await serverStillAnswers(t);
});

test.serial(
  "bodies over 3 MiB are 413 with upstream's words: declared, chunked and protobuf alike; nothing stored",
  async (t) => {
    const piece = Buffer.alloc(256 * 1024, 'x');
    const pieces = Array.from({ length: 16 }, () => piece);
    const json = [Buffer.from('{"metadata":{"name":"big-body"},"data":{"a":"'), ...pieces, Buffer.from('"}}')];
    const length = json.reduce((sum, b) => sum + b.length, 0);
    const collection = `/api/v1/namespaces/${ns}/configmaps`;
    const declared = await streamed(
      'POST',
      collection,
      alice,
      { 'Content-Type': 'application/json', 'Content-Length': length },
      json,
    );
    t.is(declared.status, 413);
    t.is(declared.body.message, 'Request entity too large: limit is 3145728');
    const chunkedJson = await streamed(
      'POST',
      collection,
      alice,
      { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      json,
    );
    t.is(chunkedJson.status, 413);
    t.is(chunkedJson.body.message, 'Request entity too large: limit is 3145728');
    const protobuf = await streamed(
      'POST',
      collection,
      alice,
      { 'Content-Type': 'application/vnd.kubernetes.protobuf', 'Transfer-Encoding': 'chunked' },
      pieces,
    );
    t.is(protobuf.status, 413);
    t.is(protobuf.body.reason, 'RequestEntityTooLarge');
    t.is((await call(server, 'GET', `/api/v1/namespaces/${ns}/configmaps/big-body`, alice)).status, 404);
    await serverStillAnswers(t);
  },
);

test.serial('an object over 1.5 MiB is not stored (422), by create or by patch', async (t) => {
  const template = (args: string[]) => ({
    metadata: { labels: { app: 'big' } },
    spec: { containers: [{ name: 'c', image: 'img:1', args }] },
  });
  const deployment = (args: string[]) => ({
    metadata: { name: 'big' },
    spec: { selector: { matchLabels: { app: 'big' } }, template: template(args) },
  });
  const collection = `/apis/apps/v1/namespaces/${ns}/deployments`;
  const huge = ['y'.repeat(1.6 * MiB)];
  const created = await call(server, 'POST', collection, alice, deployment(huge));
  t.is(created.status, 422, JSON.stringify(created.body).slice(0, 300));
  t.is(created.body.message, 'Deployment.apps "big" is invalid: []: Too long: must have at most 1572864 bytes');
  t.is((await call(server, 'GET', `${collection}/big`, alice)).status, 404);

  t.is((await call(server, 'POST', collection, alice, deployment(['small']))).status, 201);
  const before = (await call(server, 'GET', `${collection}/big`, alice)).body;
  const patched = await call(
    server,
    'PATCH',
    `${collection}/big`,
    alice,
    { spec: { template: template(huge) } },
    'application/merge-patch+json',
  );
  t.is(patched.status, 422);
  t.deepEqual((await call(server, 'GET', `${collection}/big`, alice)).body, before);
  await serverStillAnswers(t);
});

test.serial('malformed percent-escapes in the path or the query are 400, never 500', async (t) => {
  for (const path of [
    `/api/v1/namespaces/${ns}/configmaps/%zz`,
    `/api/v1/namespaces/${ns}/configmaps/%ff%fe`,
    `/api/v1/namespaces/${ns}/configmaps?labelSelector=a%2`,
    `/api/v1/namespaces/${ns}/configmaps?fieldSelector=%G1`,
  ]) {
    const reply = await call(server, 'GET', path, alice);
    t.is(reply.status, 400, path);
    t.is(reply.body.reason, 'BadRequest', path);
  }
  t.is(
    (await call(server, 'GET', `/api/v1/namespaces/${ns}/configmaps/%zz`, alice)).body.message,
    'invalid URL escape "%zz"',
  );
  await serverStillAnswers(t);
});

test.serial('a TokenRequest whose expirationSeconds is not an int64 is 400, never 500', async (t) => {
  t.is(
    (await call(server, 'POST', `/api/v1/namespaces/${ns}/serviceaccounts`, alice, { metadata: { name: 'robot' } }))
      .status,
    201,
  );
  const path = `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`;
  for (const expirationSeconds of ['3600', 1e20, 3600.5, { seconds: 1 }]) {
    const reply = await call(server, 'POST', path, admin, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds },
    });
    t.is(reply.status, 400, JSON.stringify(expirationSeconds));
    t.regex(
      reply.body.message,
      /cannot unmarshal .* into Go struct field TokenRequestSpec\.spec\.expirationSeconds of type int64$/,
    );
  }
  t.is(
    (
      await call(server, 'POST', path, admin, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      })
    ).status,
    201,
  );
  await serverStillAnswers(t);
});

async function registeredWatchers(kind: string): Promise<number> {
  const text = (await freshCall('GET', '/metrics', admin)).body as string;
  return text
    .split('\n')
    .filter((l) => l.startsWith('apiserver_registered_watchers{') && l.includes(`kind="${kind}"`))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** A watch over a raw TLS connection whose client never reads a byte of the answer. */
function deafWatch(identity: Identity, path: string): Promise<TLSSocket> {
  const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: server.port, ca, cert: identity.cert, key: identity.key, servername: 'localhost' },
      () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n`);
        socket.pause();
        resolve(socket);
      },
    );
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

test.serial(
  '200 watches that never read are closed, memory stays bounded, and a reading watch gets every event',
  async (t) => {
    const kind = 'Secret';
    const watchPath = `/api/v1/namespaces/${ns}/secrets?watch=true`;
    const started = Date.now();
    const stage = (what: string) => t.log(`${what} after ${Date.now() - started} ms`);
    const baseline = await registeredWatchers(kind);
    const deaf: TLSSocket[] = [];
    t.teardown(() => deaf.forEach((s) => s.destroy()));
    for (let batch = 0; batch < 10; batch++)
      deaf.push(...(await Promise.all(Array.from({ length: 20 }, () => deafWatch(alice, watchPath)))));
    // a normal client, reading as it should
    let seen = 0;
    const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
    const reader = request(
      { host: '127.0.0.1', port: server.port, path: watchPath, ca, cert: admin.cert, key: admin.key },
      (res) => {
        let rest = '';
        res.on('data', (c: Buffer) => {
          const lines = (rest + c.toString()).split('\n');
          rest = lines.pop()!;
          seen += lines.filter((l) => l.includes('"MODIFIED"')).length;
        });
      },
    );
    reader.on('error', () => undefined);
    reader.end();
    t.teardown(() => reader.destroy());
    await waitFor(
      '201 watches to be registered',
      async () => (await registeredWatchers(kind)) >= baseline + 201,
      30_000,
    );
    const rssBefore = rssMiB(server.pid);
    const secret = `/api/v1/namespaces/${ns}/secrets/churn`;
    t.is(
      (
        await freshCall('POST', `/api/v1/namespaces/${ns}/secrets`, alice, {
          metadata: { name: 'churn' },
          data: { v: '' },
        })
      ).status,
      201,
    );
    const writes = 60;
    for (let i = 0; i < writes; i++) {
      // ~128 KiB per event: 7.5 MiB per watcher over the run, far more than socket buffers hold
      const reply = await freshCall('PUT', secret, alice, {
        metadata: { name: 'churn' },
        data: { v: Buffer.alloc(96 * 1024, i).toString('base64') },
      });
      t.is(reply.status, 200);
    }
    stage('writes done');
    await waitFor(
      'the deaf watches to be closed',
      async () => (await registeredWatchers(kind)) === baseline + 1,
      30_000,
    );
    const rssAfter = rssMiB(server.pid);
    stage('deaf watches closed');
    t.log(
      `server RSS with 200 deaf watches: ${rssBefore.toFixed(0)} MiB before the writes, ${rssAfter.toFixed(0)} MiB after`,
    );
    t.true(rssAfter - rssBefore < 600, `RSS grew ${(rssAfter - rssBefore).toFixed(0)} MiB`);
    await waitFor('the reading watch to see every write', () => seen === writes, 10_000);
    await serverStillAnswers(t);
  },
);
