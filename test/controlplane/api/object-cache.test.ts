/**
 * The server's in-memory caches hold each object once and hand that object out: a frozen cache
 * (the pods-by-node index) makes sure no reader can change what the others read, whether it got
 * the object from the cache or as the watch event the cache was fed from.
 */
import test from 'ava';
import { ObjectCache } from '../../../controlplane/api/object-cache.ts';
import { Registry } from '../../../controlplane/api/registry.ts';
import { findResource } from '../../../controlplane/api/resources.ts';
import { keptWatchTexts, watchEventLine } from '../../../controlplane/api/watch-line.ts';
import { SqliteStorage } from '../../../controlplane/storage/sqlite.ts';
import type { KubeObject, WatchEvent } from '../../../kube/types.ts';
import { waitFor } from '../../helpers/wait.ts';

const pods = findResource('', 'v1', 'pods')!;

const pod = (name: string, nodeName: string): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1.36' }] },
  }) as KubeObject;

const nodeOf = (object: KubeObject) => (object.spec as { nodeName?: string } | undefined)?.nodeName;

test('a frozen cache: no reader can change a cached pod, neither through the cache nor through the watch event it came from', async (t) => {
  const storage = new SqliteStorage(':memory:');
  const registry = new Registry(storage, async () => undefined);
  const cache = new ObjectCache(registry, pods, nodeOf, { frozen: true });
  try {
    await registry.create(pods, 'default', pod('listed', 'n1'));
    await cache.start();
    // another watcher of the same changes gets the very objects the cache keeps
    const watched: WatchEvent[] = [];
    const start = await registry.currentRevision(pods);
    const watch = await registry.watch(
      pods,
      undefined,
      start,
      {},
      (event) => watched.push(event),
      (err) => t.fail(String(err)),
    );
    await registry.create(pods, 'default', pod('watched', 'n1'));
    await waitFor(() => (cache.indexed('n1') ?? []).length === 2 && watched.length === 1, {
      what: 'the new pod in the cache and at the watcher',
      timeoutMs: 2000,
    });
    watch.cancel();
    const [first, second] = cache.indexed('n1')!;
    for (const object of [first!, second!, watched[0]!.object]) {
      t.throws(() => {
        object.metadata.labels!.app = 'changed';
      });
      t.throws(() => {
        (object.spec as { containers: { image: string }[] }).containers[0]!.image = 'evil:1';
      });
      t.throws(() => {
        delete object.metadata.labels;
      });
    }
    for (const object of cache.indexed('n1')!) {
      t.is(object.metadata.labels?.app, 'web', `${object.metadata.name}: what the next reader sees`);
      t.is((object.spec as { containers: { image: string }[] }).containers[0]!.image, 'busybox:1.36');
    }
    // what the datastore holds is untouched, and the cache still follows it
    t.is((await registry.get(pods, 'default', 'watched')).metadata.labels?.app, 'web');
    await registry.update(pods, 'default', 'listed', {
      ...pod('listed', 'n1'),
      metadata: { name: 'listed', namespace: 'default', labels: { app: 'api' } },
    });
    await waitFor(() => cache.indexed('n1')?.some((p) => p.metadata.labels?.app === 'api') === true, {
      what: 'the update in the cache',
      timeoutMs: 2000,
    });
  } finally {
    cache.stop();
    await registry.close();
    await storage.close();
  }
});

test('a frozen cache holds the field sets its pods have in common once, and hands out what the datastore holds', async (t) => {
  const storage = new SqliteStorage(':memory:');
  const registry = new Registry(storage, async () => undefined);
  const cache = new ObjectCache(registry, pods, nodeOf, { frozen: true });
  const fieldsV1 = { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:nodeName': {} } };
  const managed = (name: string, time: string): KubeObject => {
    const object = pod(name, 'n1');
    object.metadata.managedFields = [
      { manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time, fieldsType: 'FieldsV1', fieldsV1 },
    ];
    return object;
  };
  try {
    await registry.create(pods, 'default', managed('listed', '2026-01-01T00:00:00Z'));
    await cache.start();
    await registry.create(pods, 'default', managed('watched', '2026-01-01T00:00:01Z'));
    await waitFor(() => (cache.indexed('n1') ?? []).length === 2, { what: 'both pods cached', timeoutMs: 2000 });
    const [listed, watched] = await Promise.all([cache.get('default', 'listed'), cache.get('default', 'watched')]);
    const fieldSetOf = (object: KubeObject | undefined) =>
      (object?.metadata.managedFields as { fieldsV1: Record<string, unknown> }[] | undefined)?.[0]?.fieldsV1;
    t.truthy(fieldSetOf(listed));
    t.is(fieldSetOf(listed), fieldSetOf(watched), 'one field set for both pods');
    // what a reader gets is what the datastore holds, times included
    t.deepEqual(listed, await registry.get(pods, 'default', 'listed'));
    t.deepEqual(watched, await registry.get(pods, 'default', 'watched'));
    // the shared field set is frozen: a reader of one pod cannot change the other's
    t.throws(() => {
      fieldSetOf(listed)!['f:status'] = {};
    });
    t.throws(() => {
      (fieldSetOf(listed)!['f:spec'] as Record<string, unknown>)['f:nodeName'] = 'x';
    });
    t.deepEqual(fieldSetOf(watched), fieldsV1);
  } finally {
    cache.stop();
    await registry.close();
    await storage.close();
  }
});

test('a watch line is the JSON of the event, and the text kept for reuse stays a few objects however many are watched', (t) => {
  const shared = pod('shared', 'n1');
  const line = watchEventLine({ type: 'MODIFIED', object: shared });
  t.is(line, `${JSON.stringify({ type: 'MODIFIED', object: shared })}\n`);
  t.is(watchEventLine({ type: 'MODIFIED', object: shared }), line, 'the same object, the same text');
  for (let i = 0; i < 5_000; i++) watchEventLine({ type: 'ADDED', object: pod(`p${i}`, 'n1') });
  t.true(keptWatchTexts() <= 64, `${keptWatchTexts()} texts kept`);
});
