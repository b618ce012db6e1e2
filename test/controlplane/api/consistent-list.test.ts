/**
 * A list of one node's pods without a resourceVersion (the newest state: what an informer asks
 * after a 410) is answered from the pods-by-node index once the index has seen the datastore's
 * current revision, as upstream's consistent reads from its watch cache; a write just made is in
 * the answer. On a datastore that cannot say what has reached every watch (etcd here) it is still
 * a datastore read.
 */
import test from 'ava';
import { ObjectCache } from '../../../controlplane/api/object-cache.ts';
import { Registry } from '../../../controlplane/api/registry.ts';
import { findResource } from '../../../controlplane/api/resources.ts';
import { SqliteStorage } from '../../../controlplane/storage/sqlite.ts';
import type { Storage } from '../../../controlplane/storage/store.ts';
import { parseFieldSelector } from '../../../kube/fields.ts';
import type { KubeObject } from '../../../kube/types.ts';

const pods = findResource('', 'v1', 'pods')!;
const configmaps = findResource('', 'v1', 'configmaps')!;

const pod = (name: string, nodeName: string): KubeObject =>
  ({ metadata: { name }, spec: { nodeName, containers: [{ name: 'c', image: 'i' }] } }) as KubeObject;

/** The sqlite store, counting full reads of the pods; `withoutDelivered` hides deliveredRevision, as etcd has none. */
function counting(inner: SqliteStorage, withoutDelivered = false): { storage: Storage; podReads: () => number } {
  let reads = 0;
  const storage = new Proxy(inner, {
    get(target, prop) {
      if (withoutDelivered && prop === 'deliveredRevision') return undefined;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'list' && String(args[0]).startsWith('/registry/pods/')) reads++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as unknown as Storage;
  return { storage, podReads: () => reads };
}

async function withIndex(
  withoutDelivered: boolean,
  body: (registry: Registry, podReads: () => number) => Promise<void>,
): Promise<void> {
  const inner = new SqliteStorage(':memory:');
  const { storage, podReads } = counting(inner, withoutDelivered);
  const registry = new Registry(storage, async () => undefined);
  const byNode = new ObjectCache(registry, pods, (p) => (p.spec as { nodeName?: string }).nodeName);
  await byNode.start();
  registry.serveListsFrom((info, selectors) => {
    const node = selectors.fields?.find((r) => r.equal && r.field === 'spec.nodeName');
    return info === pods && node !== undefined ? byNode.indexedAt(node.value) : undefined;
  });
  try {
    await body(registry, podReads);
  } finally {
    byNode.stop();
    await registry.close();
    await inner.close();
  }
}

const names = (list: { items: KubeObject[] }) => list.items.map((p) => p.metadata.name).sort();
const onNode = (node: string) => ({ fields: parseFieldSelector(`spec.nodeName=${node}`) });

test("a fresh list of a node's pods comes from the index, current at the datastore's revision", async (t) => {
  await withIndex(false, async (registry, podReads) => {
    await registry.create(pods, 'default', pod('a1', 'node-a'));
    await registry.create(pods, 'default', pod('b1', 'node-b'));
    const before = podReads();
    // the newest write is not a pod: the index's own revision trails the datastore's
    const marker = await registry.create(configmaps, 'default', { metadata: { name: 'marker' } } as KubeObject);
    const fresh = await registry.list(pods, undefined, onNode('node-a'));
    t.deepEqual(names(fresh), ['a1']);
    t.true(
      Number(fresh.metadata.resourceVersion) >= Number(marker.metadata.resourceVersion),
      'as new as the newest write',
    );
    // a write, then at once a fresh list: the write is in it
    await registry.create(pods, 'default', pod('a2', 'node-a'));
    t.deepEqual(names(await registry.list(pods, undefined, onNode('node-a'))), ['a1', 'a2']);
    t.is(podReads(), before, 'no pod was read from the datastore');
    // a paged list is still a datastore read
    await registry.list(pods, undefined, { ...onNode('node-a'), limit: 10 });
    t.is(podReads(), before + 1);
  });
});

test('without a delivered revision from the datastore a fresh list reads the datastore', async (t) => {
  await withIndex(true, async (registry, podReads) => {
    await registry.create(pods, 'default', pod('a1', 'node-a'));
    const before = podReads();
    t.deepEqual(names(await registry.list(pods, undefined, onNode('node-a'))), ['a1']);
    t.is(podReads(), before + 1);
  });
});
