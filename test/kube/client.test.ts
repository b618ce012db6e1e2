/**
 * kube/'s client and informer against a live bosun server: every verb, errors by reason, watch,
 * and an informer that follows changes, resyncs, and relists after its history was compacted.
 */
import test from 'ava';
import { KubeClient } from '../../kube/client.ts';
import { isApiError } from '../../kube/errors.ts';
import { apiListWatch, Informer } from '../../kube/informer.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { KubeObject, WatchEvent } from '../../kube/types.ts';
import { startInProcess, type InProcessServer } from '../controlplane/in-process.ts';
import { waitFor } from '../controlplane/ports.ts';

let env: InProcessServer;
let client: KubeClient;
test.before(async () => {
  env = await startInProcess({ bookmarkIntervalMs: 600_000 }); // no bookmarks: the 410 test needs the informer's version to stay behind;
  client = new KubeClient(env.admin);
});
test.after.always(async () => {
  client?.close();
  await env?.destroy();
});

const cm = (
  name: string,
  data: Record<string, string> = {},
  namespace = 'default',
  labels: Record<string, string> = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels },
  data,
});

test('client: create, get, list with selectors, update, conflict, patch, status, delete', async (t) => {
  const created = await client.create(refs.configmaps, cm('c1', { a: '1' }, 'default', { app: 'x' }));
  t.truthy(created.metadata.uid);
  await client.create(refs.configmaps, cm('c2', {}, 'default', { app: 'y' }));
  t.is((await client.get(refs.configmaps, 'c1', 'default')).metadata.uid, created.metadata.uid);
  const listed = await client.list(refs.configmaps, { namespace: 'default', labelSelector: 'app in (x)' });
  t.deepEqual(
    listed.items.map((i) => i.metadata.name),
    ['c1'],
  );
  const updated = await client.update(refs.configmaps, { ...created, data: { a: '2' } });
  t.not(updated.metadata.resourceVersion, created.metadata.resourceVersion);
  const conflict = await t.throwsAsync(client.update(refs.configmaps, { ...created, data: { a: 'stale' } }));
  t.true(isApiError(conflict, 'Conflict'), String(conflict));
  const patched = await client.patch(refs.configmaps, 'c1', { data: { b: '3' } }, { namespace: 'default' });
  t.deepEqual(patched.data, { a: '2', b: '3' });
  const missing = await t.throwsAsync(client.get(refs.configmaps, 'nope', 'default'));
  t.true(isApiError(missing, 'NotFound'));

  await client.create(refs.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} });
  const node = await client.get(refs.nodes, 'n1');
  const withStatus = await client.updateStatus(refs.nodes, {
    ...node,
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
    spec: { unschedulable: true },
  });
  t.deepEqual(withStatus.status, { conditions: [{ type: 'Ready', status: 'True' }] });
  t.deepEqual(withStatus.spec, {}, 'the status subresource ignores spec');

  const deleted = await client.delete(refs.configmaps, 'c2', { namespace: 'default' });
  t.is(deleted.metadata.name, 'c2');
  t.true(isApiError(await t.throwsAsync(client.get(refs.configmaps, 'c2', 'default')), 'NotFound'));
});

test('client: watch from a resourceVersion sees later changes in order', async (t) => {
  const start = await client.create(refs.configmaps, cm('w1'));
  const abort = new AbortController();
  const seen: WatchEvent[] = [];
  const done = (async () => {
    for await (const event of client.watch(refs.configmaps, {
      namespace: 'default',
      resourceVersion: start.metadata.resourceVersion!,
      signal: abort.signal,
      fieldSelector: 'metadata.name=w2',
    })) {
      seen.push(event);
      if (seen.length === 3) abort.abort();
    }
  })();
  await client.create(refs.configmaps, cm('w2', { v: '1' }));
  await client.patch(refs.configmaps, 'w2', { data: { v: '2' } }, { namespace: 'default' });
  await client.delete(refs.configmaps, 'w2', { namespace: 'default' });
  await Promise.race([
    done,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${seen.length} watch events in 5 s`)), 5000)),
  ]);
  t.deepEqual(
    seen.map((e) => [e.type, (e.object.data as Record<string, string>).v]),
    [
      ['ADDED', '1'],
      ['MODIFIED', '2'],
      ['DELETED', '2'],
    ],
  );
});

test.serial('informer: follows adds, updates, deletes; resyncs; relists after 410', async (t) => {
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'inf' } });
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
  await client.create(refs.configmaps, cm('before', {}, 'inf'));
  // Bookmarks dropped on the way (a server without them): the informer's resume point stays at its
  // last event, so history compacted past it gives its next watch a 410. With bookmarks, the one
  // sent as each watch times out keeps it current and there is no 410 to test.
  const withoutBookmarks = {
    list: client.list.bind(client),
    watch: async function* (ref: Parameters<KubeClient['watch']>[0], options: Parameters<KubeClient['watch']>[1]) {
      for await (const event of client.watch(ref, options)) if (event.type !== 'BOOKMARK') yield event;
    },
  } as unknown as KubeClient;
  const informer = new Informer(
    apiListWatch(withoutBookmarks, refs.configmaps, { namespace: 'inf', watchTimeoutSeconds: 1 }),
    {
      resyncMs: 500,
    },
  );
  const log: string[] = [];
  let resyncs = 0;
  informer.addHandlers({
    onAdd: (o) => log.push(`add ${o.metadata.name}`),
    onUpdate: (a, b) => (a === b ? resyncs++ : log.push(`update ${b.metadata.name}`)),
    onDelete: (o) => log.push(`delete ${o.metadata.name}`),
  });
  const running = informer.run();
  try {
    await informer.synced;
    t.deepEqual(
      informer.list().map((o) => o.metadata.name),
      ['before'],
    );
    await client.create(refs.configmaps, cm('after', {}, 'inf'));
    await client.patch(refs.configmaps, 'after', { data: { x: '1' } }, { namespace: 'inf' });
    await client.delete(refs.configmaps, 'before', { namespace: 'inf' });
    await waitFor('the informer to see add, update and delete', () => log.length >= 4, 5000);
    t.deepEqual(log, ['add before', 'add after', 'update after', 'delete before']);
    await waitFor('a resync', () => resyncs > 0, 5000);

    // History moves on without the informer's namespace changing: its next watch gets 410.
    const listsBefore = informer.lists;
    for (let i = 0; i < 5; i++) await client.create(refs.configmaps, cm(`noise${i}`, {}, 'other'));
    await env.server.storage.compact(await env.server.storage.currentRevision());
    await waitFor('the informer to relist after its renewed watch got 410', () => informer.lists > listsBefore, 8000);
    await client.create(refs.configmaps, cm('late', {}, 'inf'));
    await waitFor(
      'the informer to see an object created after the relist',
      () => informer.get('inf/late') !== undefined,
      5000,
    );
    t.deepEqual(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
      ['after', 'late'],
    );
  } finally {
    informer.stop();
    await running;
  }
});

test.serial(
  'informer: resumeWatch ends a watch that went deaf and catches up from where it was, without a relist',
  async (t) => {
    await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'deaf' } });
    // A partition as the informer lives it: its connection stays open but carries nothing more,
    // and neither end notices. Watches started afterwards work.
    const dead = new Set<object>();
    let current: object | undefined;
    const partitionable = {
      list: client.list.bind(client),
      watch: async function* (ref: Parameters<KubeClient['watch']>[0], options: Parameters<KubeClient['watch']>[1]) {
        const connection = {};
        current = connection;
        for await (const event of client.watch(ref, options)) if (!dead.has(connection)) yield event;
      },
    } as unknown as KubeClient;
    const informer = new Informer(
      apiListWatch(partitionable, refs.configmaps, { namespace: 'deaf', watchTimeoutSeconds: 300 }),
    );
    const running = informer.run();
    try {
      await informer.synced;
      await client.create(refs.configmaps, cm('before', {}, 'deaf'));
      await waitFor('the informer to see the first object', () => informer.get('deaf/before') !== undefined, 5000);
      dead.add(current!);
      await client.create(refs.configmaps, cm('meanwhile', {}, 'deaf'));
      await new Promise((r) => setTimeout(r, 300));
      t.is(informer.get('deaf/meanwhile'), undefined, 'the deaf watch did not bring it');
      informer.resumeWatch();
      await waitFor(
        'the informer to catch up once its watch resumed',
        () => informer.get('deaf/meanwhile') !== undefined,
        5000,
      );
      t.is(informer.lists, 1, 'caught up by watching again from its resourceVersion, not by listing');
    } finally {
      informer.stop();
      await running;
    }
  },
);
