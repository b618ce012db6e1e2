/**
 * Watches share one datastore watch per resource (controlplane/api/watch-hub.ts): a pod watch per
 * node sees its own pods, including a pod that moves onto or off its node, and nothing else; a
 * watch from before the shared window still gets every change, and joins the stream once caught up
 * (a selective one gets 410, and its client relists);
 * a failed datastore watch ends every watch with the error.
 */
import test from 'ava';
import { Registry } from '../../../controlplane/api/registry.ts';
import { findResource } from '../../../controlplane/api/resources.ts';
import { WatchHub } from '../../../controlplane/api/watch-hub.ts';
import { StorageError } from '../../../controlplane/errors.ts';
import { SqliteStorage } from '../../../controlplane/storage/sqlite.ts';
import type { Change, Storage, WatchCallbacks, WatchHandle } from '../../../controlplane/storage/store.ts';
import { parseFieldSelector } from '../../../kube/fields.ts';
import type { KubeObject, WatchEvent } from '../../../kube/types.ts';

const pods = findResource('', 'v1', 'pods')!;

function pod(name: string, nodeName?: string): KubeObject {
  return {
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'i' }], ...(nodeName ? { nodeName } : {}) },
  } as KubeObject;
}

/** Waits for the microtasks that carry sqlite's fan-out. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function collect(registry: Registry, fromRevision: number, fieldSelector?: string) {
  const events: string[] = [];
  const errors: unknown[] = [];
  /** Changes the watch was offered, matching or not. */
  const offered: number[] = [];
  const handle = registry.watch(
    pods,
    'default',
    fromRevision,
    fieldSelector ? { fields: parseFieldSelector(fieldSelector) } : {},
    (event: WatchEvent) => {
      events.push(`${event.type} ${event.object.metadata.name}`);
    },
    (err) => errors.push(err),
    (revision) => offered.push(revision),
  );
  return { events, errors, offered, handle };
}

test("a per-node pod watch gets its node's pods, arrivals and departures, and no other pod", async (t) => {
  const storage = new SqliteStorage(':memory:');
  const registry = new Registry(storage, async () => undefined);
  try {
    const start = await storage.currentRevision();
    const a = collect(registry, start, 'spec.nodeName=node-a');
    const b = collect(registry, start, 'spec.nodeName=node-b');
    const all = collect(registry, start);
    await Promise.all([a.handle, b.handle, all.handle]);
    await registry.create(pods, 'default', pod('p1', 'node-a'));
    await registry.create(pods, 'default', pod('p2', 'node-b'));
    await registry.create(pods, 'default', pod('p3'));
    // p3 is bound to node-a: an update that enters node-a's selection
    await registry.guaranteedUpdate(pods, 'default', 'p3', undefined, (current) => ({
      ...current,
      spec: { ...(current.spec as object), nodeName: 'node-a' },
    }));
    // p1 moves away from node-a (not something the API allows for pods, but the hub must not care)
    await registry.guaranteedUpdate(pods, 'default', 'p1', undefined, (current) => ({
      ...current,
      spec: { ...(current.spec as object), nodeName: 'node-b' },
    }));
    await registry.delete(pods, 'default', 'p2', { gracePeriodSeconds: 0 });
    await settle();
    t.deepEqual(a.events, ['ADDED p1', 'ADDED p3', 'DELETED p1']);
    t.deepEqual(b.events, ['ADDED p2', 'ADDED p1', 'DELETED p2']);
    t.deepEqual(all.events, ['ADDED p1', 'ADDED p2', 'ADDED p3', 'MODIFIED p3', 'MODIFIED p1', 'DELETED p2']);
    t.deepEqual([...a.errors, ...b.errors, ...all.errors], []);
    // the index: node-a's watch was never offered p2's writes (nor p3 before it was bound)
    t.is(a.offered.length, 3);
    t.is(all.offered.length, 6, 'the unselective watch is offered every change');
  } finally {
    await registry.close();
    await storage.close();
  }
});

test('a watch that starts behind the shared stream is caught up from its window, or from the datastore when older', async (t) => {
  const storage = new SqliteStorage(':memory:');
  const registry = new Registry(storage, async () => undefined);
  try {
    const start = await storage.currentRevision();
    for (let i = 0; i < 5; i++) await registry.create(pods, 'default', pod(`early-${i}`, 'node-a'));
    const afterEarly = await storage.currentRevision();
    const live = collect(registry, afterEarly, 'spec.nodeName=node-a');
    await live.handle;
    await registry.create(pods, 'default', pod('later', 'node-a'));
    await settle();
    // from before the stream began: served from the datastore's history
    const old = collect(registry, start, 'spec.nodeName=node-a');
    // from inside the stream's window
    const recent = collect(registry, afterEarly);
    await Promise.all([old.handle, recent.handle]);
    await settle();
    t.deepEqual(live.events, ['ADDED later']);
    t.deepEqual(old.events, [
      'ADDED early-0',
      'ADDED early-1',
      'ADDED early-2',
      'ADDED early-3',
      'ADDED early-4',
      'ADDED later',
    ]);
    t.deepEqual(recent.events, ['ADDED later']);
  } finally {
    await registry.close();
    await storage.close();
  }
});

/** A store whose watches can be failed on demand and which counts the watches opened. */
class FailingWatchStore {
  readonly watches: WatchCallbacks[] = [];
  readonly inner: Storage;
  constructor(inner: Storage) {
    this.inner = inner;
  }
  async watch(prefix: string, from: number, callbacks: WatchCallbacks): Promise<WatchHandle> {
    this.watches.push(callbacks);
    return this.inner.watch(prefix, from, callbacks);
  }
  compactedRevision(): Promise<number> {
    return this.inner.compactedRevision();
  }
  failAll(err: Error): void {
    for (const w of this.watches.splice(0)) w.onError(err);
  }
}

test('watches share one datastore watch; when it fails every watch gets the error and the next watch starts a new one', async (t) => {
  const inner = new SqliteStorage(':memory:');
  const store = new FailingWatchStore(inner);
  const hub = new WatchHub(store as unknown as Storage);
  try {
    const from = await inner.currentRevision();
    const seen: string[] = [];
    const errors: string[] = [];
    const callbacks = (who: string): WatchCallbacks => ({
      onChange: (c: Change) => seen.push(`${who} ${c.key}`),
      onError: (e) => errors.push(`${who} ${e.message}`),
    });
    const values = () => [] as string[];
    await hub.watch('pods', '/registry/pods/', '/registry/pods/', from, undefined, values, callbacks('one'));
    await hub.watch('pods', '/registry/pods/', '/registry/pods/ns/', from, undefined, values, callbacks('two'));
    t.is(store.watches.length, 1, 'one datastore watch for both');
    await inner.create('/registry/pods/ns/x', '{}');
    await inner.create('/registry/pods/other/y', '{}');
    await settle();
    t.deepEqual(seen, ['one /registry/pods/ns/x', 'two /registry/pods/ns/x', 'one /registry/pods/other/y']);
    store.failAll(new Error('datastore lost'));
    t.deepEqual(errors, ['one datastore lost', 'two datastore lost']);
    await hub.watch(
      'pods',
      '/registry/pods/',
      '/registry/pods/',
      await inner.currentRevision(),
      undefined,
      values,
      callbacks('three'),
    );
    t.is(store.watches.length, 1, 'a new datastore watch');
    t.deepEqual(await hub.stats(), { streams: 1, subscribers: 1 });
  } finally {
    await hub.close();
    await inner.close();
  }
});

/** A store that counts the datastore watches still open. */
class CountingStore {
  open = 0;
  readonly inner: Storage;
  constructor(inner: Storage) {
    this.inner = inner;
  }
  async watch(prefix: string, from: number, callbacks: WatchCallbacks): Promise<WatchHandle> {
    const handle = await this.inner.watch(prefix, from, callbacks);
    this.open++;
    let cancelled = false;
    return {
      cancel: () => {
        if (!cancelled) this.open--;
        cancelled = true;
        handle.cancel();
      },
    };
  }
  compactedRevision(): Promise<number> {
    return this.inner.compactedRevision();
  }
}

/** No trigger values: a watch given a trigger gets only what the window replays to it. */
const values = () => [] as string[];

/** Callbacks that record the last segment of each changed key (or the error) in `list`. */
const seen = (list: string[]): WatchCallbacks => ({
  onChange: (c: Change) => list.push(c.key.split('/').at(-1)!),
  onError: (e) => list.push(`error ${e.message}`),
});

test('a watch from before the window replays from the datastore, then joins the stream and drops its own watch', async (t) => {
  const inner = new SqliteStorage(':memory:');
  const store = new CountingStore(inner);
  const hub = new WatchHub(store as unknown as Storage, { windowSize: 3 });
  try {
    const from = await inner.currentRevision();
    const early: string[] = [];
    await hub.watch('pods', '/registry/pods/', '/registry/pods/', from, undefined, values, seen(early));
    for (let i = 0; i < 6; i++) await inner.create(`/registry/pods/ns/p${i}`, '{}');
    await settle();
    // the window holds p3..p5: this watch starts three changes before it
    const late: string[] = [];
    const handle = await hub.watch(
      'pods',
      '/registry/pods/',
      '/registry/pods/ns/',
      from,
      undefined,
      values,
      seen(late),
    );
    await settle();
    for (let i = 6; i < 8; i++) await inner.create(`/registry/pods/ns/p${i}`, '{}');
    await settle();
    const all = Array.from({ length: 8 }, (_, i) => `p${i}`);
    t.deepEqual(early, all);
    t.deepEqual(late, all, 'every change once, in order, across the switch');
    t.is(store.open, 1, "only the shared stream's datastore watch is left");
    t.deepEqual(await hub.stats(), { streams: 1, subscribers: 2 });
    t.is(handle.caughtUp(), await inner.currentRevision());
    handle.cancel();
    t.deepEqual(await hub.stats(), { streams: 1, subscribers: 1 });
    // one node's pods from before the window: its client relists (from memory) rather than replay every pod's changes
    const err = await t.throwsAsync(
      hub.watch(
        'pods',
        '/registry/pods/',
        '/registry/pods/',
        from,
        { field: 'spec.nodeName', value: 'node-a' },
        values,
        seen([]),
      ),
    );
    t.is((err as StorageError).code, 'BOSUN_STORAGE_COMPACTED');
  } finally {
    await hub.close();
    await inner.close();
  }
});

test('a window of large values keeps fewer changes, and a watch from before it is answered as from before any window', async (t) => {
  const inner = new SqliteStorage(':memory:');
  const store = new CountingStore(inner);
  // room for a thousand changes by count, but only for about three of these values by size
  const hub = new WatchHub(store as unknown as Storage, { windowSize: 1000, windowChars: 3 * 1024 + 100 });
  try {
    const from = await inner.currentRevision();
    const large = JSON.stringify({ data: 'x'.repeat(1000) });
    await hub.watch('cm', '/registry/configmaps/', '/registry/configmaps/', from, undefined, values, seen([]));
    const revisions: number[] = [];
    for (let i = 0; i < 8; i++)
      revisions.push((await inner.create(`/registry/configmaps/ns/c${i}`, large)).modRevision);
    await settle();
    const all = Array.from({ length: 8 }, (_, i) => `c${i}`);
    // from inside the window: caught up from memory, no datastore watch of its own
    const recent: string[] = [];
    await hub.watch(
      'cm',
      '/registry/configmaps/',
      '/registry/configmaps/',
      revisions[5]!,
      undefined,
      values,
      seen(recent),
    );
    await settle();
    t.deepEqual(recent, ['c6', 'c7']);
    t.is(store.open, 1, 'only the shared datastore watch');
    // from before it: every change, replayed from the datastore, as for a watch from before a count-bound window
    const replayed: string[] = [];
    await hub.watch('cm', '/registry/configmaps/', '/registry/configmaps/', from, undefined, values, seen(replayed));
    await settle();
    t.deepEqual(replayed, all);
    // a selective watch from before it: Compacted (410), its client relists
    const err = await t.throwsAsync(
      hub.watch(
        'cm',
        '/registry/configmaps/',
        '/registry/configmaps/',
        revisions[1]!,
        { field: 'metadata.name', value: 'c3' },
        values,
        seen([]),
      ),
    );
    t.is((err as StorageError).code, 'BOSUN_STORAGE_COMPACTED');
    // one value larger than the whole budget is still kept: the newest change is always in the window
    const huge = JSON.stringify({ data: 'y'.repeat(10_000) });
    const hugeRevision = (await inner.create('/registry/configmaps/ns/huge', huge)).modRevision;
    await settle();
    const afterHuge: string[] = [];
    await hub.watch(
      'cm',
      '/registry/configmaps/',
      '/registry/configmaps/',
      hugeRevision - 1,
      { field: 'metadata.name', value: 'huge' },
      values,
      seen(afterHuge),
    );
    await settle();
    t.deepEqual(afterHuge, ['huge']);
  } finally {
    await hub.close();
    await inner.close();
  }
});
