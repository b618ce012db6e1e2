/**
 * Paged lists as upstream's apiserver serves them, on both datastores: every page of a list shows
 * the state at the first page's resourceVersion, the continue token is upstream's, a token older
 * than compaction is 410 with a token to go on, and resourceVersionMatch=Exact|NotOlderThan.
 */
import test from 'ava';
import { startInProcess, type InProcessServer } from '../in-process.ts';
import { adminIdentity, call, type HttpReply } from '../server-process.ts';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';

let etcd: EtcdProcess | undefined;
const servers: Partial<Record<'sqlite' | 'etcd', InProcessServer>> = {};

test.before(async () => {
  etcd = await startEtcd();
  servers.sqlite = await startInProcess();
  servers.etcd = await startInProcess({ datastore: 'etcd', etcd });
});
test.after.always(async () => {
  await servers.sqlite?.destroy();
  await servers.etcd?.destroy();
  await etcd?.destroy();
});

function send(backend: 'sqlite' | 'etcd', method: string, path: string, body?: unknown): Promise<HttpReply> {
  const server = servers[backend]!;
  return call(
    { dataDir: server.dataDir, port: Number(new URL(server.server.url).port) },
    method,
    path,
    adminIdentity(server.dataDir),
    body,
  );
}
const get = (backend: 'sqlite' | 'etcd', path: string) => send(backend, 'GET', path);

async function makeNamespace(
  backend: 'sqlite' | 'etcd',
  namespace: string,
  names: readonly string[],
): Promise<Record<string, string>> {
  expectStatus(await send(backend, 'POST', '/api/v1/namespaces', { metadata: { name: namespace } }), 201);
  const versions: Record<string, string> = {};
  for (const name of names) {
    const created = await send(backend, 'POST', `/api/v1/namespaces/${namespace}/configmaps`, {
      metadata: { name },
      data: { v: '1' },
    });
    expectStatus(created, 201);
    versions[name] = created.body.metadata.resourceVersion;
  }
  return versions;
}
function expectStatus(reply: HttpReply, status: number): void {
  if (reply.status !== status)
    throw new Error(`expected ${status}, got ${reply.status}: ${JSON.stringify(reply.body)}`);
}

const decodeToken = (token: string) =>
  JSON.parse(Buffer.from(token, 'base64url').toString()) as { v: string; rv: number; start: string };

for (const backend of ['sqlite', 'etcd'] as const) {
  test(`${backend}: pages with writes between them show the first page's state`, async (t) => {
    const ns = `paging-${backend}`;
    const versions = await makeNamespace(backend, ns, ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const first = await get(backend, `${path}?limit=2`);
    t.is(first.status, 200);
    const snapshot = first.body.metadata.resourceVersion;
    t.is(first.body.metadata.remainingItemCount, 5);
    t.deepEqual(decodeToken(first.body.metadata.continue), {
      v: 'meta.k8s.io/v1',
      rv: Number(snapshot),
      start: 'c2\u0000',
    });
    // after the first page: one created before the rest, one changed, one deleted, one created after the rest
    expectStatus(await send(backend, 'POST', `${path}`, { metadata: { name: 'c0' } }), 201);
    expectStatus(
      await send(backend, 'PUT', `${path}/c4`, {
        metadata: { name: 'c4', resourceVersion: versions.c4 },
        data: { v: '2' },
      }),
      200,
    );
    expectStatus(await send(backend, 'DELETE', `${path}/c5`), 200);
    expectStatus(await send(backend, 'POST', `${path}`, { metadata: { name: 'c8' } }), 201);
    const seen = first.body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    const data: string[] = [];
    let token: string | undefined = first.body.metadata.continue;
    while (token) {
      const page = await get(backend, `${path}?limit=2&continue=${encodeURIComponent(token)}`);
      t.is(page.status, 200, JSON.stringify(page.body));
      t.is(page.body.metadata.resourceVersion, snapshot, "every page is at the first page's revision");
      for (const item of page.body.items) {
        seen.push(item.metadata.name);
        data.push(
          `${item.metadata.name}=${item.data.v}@${item.metadata.resourceVersion === versions[item.metadata.name] ? 'same' : 'new'}`,
        );
      }
      token = page.body.metadata.continue;
    }
    t.deepEqual(
      seen,
      ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'],
      'no duplicates, no skips, the deleted one still there',
    );
    t.true(data.includes('c4=1@same'), `the changed one as it was: ${data.join(' ')}`);
    // a new list sees the writes
    const fresh = await get(backend, path);
    t.deepEqual(
      fresh.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ['c0', 'c1', 'c2', 'c3', 'c4', 'c6', 'c7', 'c8'],
    );
  });

  test(`${backend}: resourceVersionMatch=Exact reads that revision; NotOlderThan refuses a future one`, async (t) => {
    const ns = `exact-${backend}`;
    await makeNamespace(backend, ns, ['a', 'b']);
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const before = (await get(backend, path)).body.metadata.resourceVersion;
    expectStatus(await send(backend, 'DELETE', `${path}/a`), 200);
    const exact = await get(backend, `${path}?resourceVersion=${before}&resourceVersionMatch=Exact`);
    t.is(exact.status, 200);
    t.is(exact.body.metadata.resourceVersion, before);
    t.deepEqual(
      exact.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ['a', 'b'],
    );
    // the older paging contract: a resourceVersion with a limit and no match reads exactly there
    const legacy = await get(backend, `${path}?resourceVersion=${before}&limit=1`);
    t.deepEqual(
      legacy.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ['a'],
    );
    t.is(legacy.body.metadata.resourceVersion, before);
    const newer = await get(backend, `${path}?resourceVersion=${before}&resourceVersionMatch=NotOlderThan`);
    t.is(newer.status, 200);
    t.true(Number(newer.body.metadata.resourceVersion) > Number(before));
    t.deepEqual(
      newer.body.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ['b'],
    );
    const future = String(Number(before) + 100_000);
    for (const match of ['Exact', 'NotOlderThan']) {
      const tooLarge = await get(backend, `${path}?resourceVersion=${future}&resourceVersionMatch=${match}`);
      t.is(tooLarge.status, 504, `${match}: ${JSON.stringify(tooLarge.body)}`);
      t.is(tooLarge.body.reason, 'Timeout');
      t.regex(tooLarge.body.message, new RegExp(`^Timeout: Too large resource version: ${future}, current: \\d+$`));
      t.deepEqual(tooLarge.body.details, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      });
    }
    const withContinue = await get(backend, `${path}?resourceVersion=${before}&continue=abc`);
    t.is(withContinue.status, 400);
    t.is(withContinue.body.message, 'specifying resource version is not allowed when using continue');
  });

  test(`${backend}: a continue token that climbs out of its collection is refused`, async (t) => {
    const forged = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 1, start: '../../secrets/\u0000' })).toString(
      'base64url',
    );
    const reply = await get(backend, `/api/v1/namespaces/default/configmaps?limit=1&continue=${forged}`);
    t.is(reply.status, 400);
    t.regex(reply.body.message, /^invalid continue token: continue key is not valid/);
    t.is((await get(backend, '/api/v1/namespaces/default/configmaps?limit=1')).status, 200);
  });

  test.serial(`${backend}: a continue token older than compaction is 410 with a token to go on`, async (t) => {
    const ns = `compacted-${backend}`;
    await makeNamespace(backend, ns, ['x1', 'x2', 'x3']);
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const first = await get(backend, `${path}?limit=1`);
    expectStatus(await send(backend, 'POST', path, { metadata: { name: 'x4' } }), 201);
    const exactAt = first.body.metadata.resourceVersion;
    const storage = servers[backend]!.server.storage;
    await storage.compact(await storage.currentRevision());
    const stale = await get(backend, `${path}?limit=1&continue=${encodeURIComponent(first.body.metadata.continue)}`);
    t.is(stale.status, 410);
    t.is(stale.body.reason, 'Expired');
    t.is(
      stale.body.message,
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    );
    const restart = stale.body.metadata.continue as string;
    t.deepEqual(decodeToken(restart), { v: 'meta.k8s.io/v1', rv: -1, start: 'x1\u0000' });
    const rest: string[] = [];
    let token: string | undefined = restart;
    while (token) {
      const page = await get(backend, `${path}?limit=1&continue=${encodeURIComponent(token)}`);
      t.is(page.status, 200);
      rest.push(...page.body.items.map((i: { metadata: { name: string } }) => i.metadata.name));
      token = page.body.metadata.continue;
    }
    t.deepEqual(rest, ['x2', 'x3', 'x4'], 'the rest, at the newest state');
    const exact = await get(backend, `${path}?resourceVersion=${exactAt}&resourceVersionMatch=Exact`);
    t.is(exact.status, 410);
    t.is(exact.body.reason, 'Expired');
    t.is(exact.body.message, 'The resourceVersion for the provided list is too old.');
  });
}
