/**
 * --max-requests-inflight, --max-mutating-requests-inflight and --max-watches-per-user, with small
 * values, against a real server process: a burst beyond them is refused with 429 and Retry-After
 * (nothing half-done), watches hold no seat, system:masters is exempt as upstream exempts it, and
 * the server answers normally once the burst is over.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import {
  adminIdentity,
  call,
  namespaceAdmin,
  startServerProcess,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';

let server: ServerProcess;
let admin: Identity;
let alice: Identity;
const ns = 'team-burst';

test.before(async () => {
  server = await startServerProcess({
    datastore: 'sqlite',
    serverArgs: [
      '--max-requests-inflight',
      '2',
      '--max-mutating-requests-inflight',
      '1',
      '--max-watches-per-user',
      '3',
    ],
  });
  admin = adminIdentity(server.dataDir);
  alice = await namespaceAdmin(server, ns, 'alice');
});
test.after.always(async () => {
  await server?.destroy();
});

/** Creates `count` ConfigMaps at once, each on its own connection so that they overlap. */
async function burst(identity: Identity, prefix: string, count: number) {
  const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
  const one = (i: number) =>
    new Promise<{ status: number; retryAfter: string | undefined; body: any }>((resolve, reject) => {
      const payload = JSON.stringify({ metadata: { name: `${prefix}-${i}` }, data: { i: String(i) } });
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: `/api/v1/namespaces/${ns}/configmaps`,
          ca,
          cert: identity.cert,
          key: identity.key,
          agent: false,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              retryAfter: res.headers['retry-after'] as string | undefined,
              body: JSON.parse(Buffer.concat(parts).toString()),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return Promise.all(Array.from({ length: count }, (_, i) => one(i)));
}

async function storedNames(prefix: string): Promise<string[]> {
  const list = await call(server, 'GET', `/api/v1/namespaces/${ns}/configmaps`, admin);
  return (list.body.items as { metadata: { name: string } }[])
    .map((c) => c.metadata.name)
    .filter((n) => n.startsWith(`${prefix}-`));
}

test.serial(
  'mutating requests beyond --max-mutating-requests-inflight are 429 with Retry-After; nothing refused is stored; system:masters is exempt',
  async (t) => {
    let refused: Awaited<ReturnType<typeof burst>> = [];
    let accepted: Awaited<ReturnType<typeof burst>> = [];
    // overlap is up to the scheduler of two busy cores: a few bursts make it certain
    for (let round = 0; round < 5 && refused.length === 0; round++) {
      const replies = await burst(alice, `r${round}`, 40);
      refused = refused.concat(replies.filter((r) => r.status === 429));
      accepted = accepted.concat(replies.filter((r) => r.status === 201));
      t.deepEqual(
        replies.filter((r) => r.status !== 429 && r.status !== 201),
        [],
      );
      t.deepEqual(
        (await storedNames(`r${round}`)).sort(),
        replies
          .filter((r) => r.status === 201)
          .map((r) => r.body.metadata.name)
          .sort(),
      );
    }
    t.true(refused.length > 0, 'some requests of the burst were refused');
    t.true(accepted.length > 0, 'some got through');
    t.is(refused[0]!.retryAfter, '1');
    t.is(refused[0]!.body.reason, 'TooManyRequests');
    t.is(refused[0]!.body.message, 'Too many requests, please try again later.');
    // after the burst, one at a time is fine
    t.is(
      (await call(server, 'POST', `/api/v1/namespaces/${ns}/configmaps`, alice, { metadata: { name: 'calm' } })).status,
      201,
    );
    t.is((await call(server, 'GET', '/readyz')).status, 200);
    // system:masters is exempt, as upstream exempts it
    const masters = await burst(admin, 'masters', 30);
    t.deepEqual(
      masters.map((r) => r.status),
      masters.map(() => 201),
    );
  },
);

/** Opens a watch and resolves once its headers arrived; the caller closes it. */
function openWatch(identity: Identity): Promise<{ status: number; req: ClientRequest; body: () => string }> {
  const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    let text = '';
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: `/api/v1/namespaces/${ns}/secrets?watch=true`,
        ca,
        cert: identity.cert,
        key: identity.key,
        agent: false,
      },
      (res) => {
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('error', () => undefined);
        resolve({ status: res.statusCode ?? 0, req, body: () => text });
      },
    );
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

test.serial(
  'watches hold no in-flight seat and are not counted in flight; a user gets --max-watches-per-user of them, then 429',
  async (t) => {
    const open = [await openWatch(alice), await openWatch(alice), await openWatch(alice)];
    t.teardown(() => open.forEach((w) => w.req.destroy()));
    t.deepEqual(
      open.map((w) => w.status),
      [200, 200, 200],
    );
    // three watches open and --max-requests-inflight 2: short reads still go through
    t.is((await call(server, 'GET', `/api/v1/namespaces/${ns}/secrets`, alice)).status, 200);
    // and the in-flight gauge counts the scrape, not the streams
    const metrics = (await call(server, 'GET', '/metrics', admin)).body as string;
    t.regex(metrics, /^apiserver_current_inflight_requests\{request_kind="readOnly"\} 1$/m);
    const fourth = await openWatch(alice);
    t.teardown(() => fourth.req.destroy());
    t.is(fourth.status, 429);
    await new Promise((r) => setTimeout(r, 100));
    t.regex(fourth.body(), /"reason":"TooManyRequests"/);
    // closing one frees its place
    open[0]!.req.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const again = await openWatch(alice);
    t.teardown(() => again.req.destroy());
    t.is(again.status, 200);
  },
);
