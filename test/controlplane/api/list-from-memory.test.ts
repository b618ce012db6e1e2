/**
 * A node's pod list (fieldSelector spec.nodeName=<node>) that allows an older answer
 * (resourceVersion=0, or not older than N) is served from the server's pods-by-node index, as
 * upstream serves such lists from its watch cache; without a resourceVersion it is a fresh read.
 * Both answers agree, and the remembered one is never older than asked for.
 */
import test from 'ava';
import { isApiError } from '../../../kube/errors.ts';
import { refs } from '../../../kube/resource-ref.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { sharedInProcess } from '../in-process.ts';

const shared = sharedInProcess(test);

const pod = (name: string, nodeName: string, namespace = 'default'): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1.36' }] },
  }) as KubeObject;

test("a node's pod list at resourceVersion=0 or not older than N matches the fresh read", async (t) => {
  const api = shared.client();
  await api.create(refs.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'elsewhere' },
  } as KubeObject);
  await api.create(refs.pods, pod('a1', 'mem-a'));
  await api.create(refs.pods, pod('b1', 'mem-b'));
  const last = await api.create(refs.pods, pod('a2', 'mem-a', 'elsewhere'));
  const names = (list: { items: KubeObject[] }) =>
    list.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();

  // a write elsewhere: the datastore's revision moves on, the pods index's does not
  const marker = await api.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'marker', namespace: 'default' },
  } as KubeObject);
  const fresh = await api.list(refs.pods, { fieldSelector: 'spec.nodeName=mem-a' });
  const remembered = await api.list(refs.pods, { fieldSelector: 'spec.nodeName=mem-a', resourceVersion: '0' });
  const notOlder = await api.list(refs.pods, {
    fieldSelector: 'spec.nodeName=mem-a',
    resourceVersion: last.metadata.resourceVersion!,
  });
  t.deepEqual(names(fresh), ['default/a1', 'elsewhere/a2']);
  t.deepEqual(names(remembered), names(fresh));
  t.deepEqual(names(notOlder), names(fresh));
  t.true(
    Number(notOlder.metadata.resourceVersion) >= Number(last.metadata.resourceVersion),
    'never older than asked for',
  );
  // which path answered: the index is current at the last pod write, a datastore read at the marker's
  t.is(remembered.metadata.resourceVersion, last.metadata.resourceVersion, 'served from the index');
  t.true(Number(fresh.metadata.resourceVersion) >= Number(marker.metadata.resourceVersion), 'read from the datastore');
  // a namespace still narrows, other selectors still apply
  t.deepEqual(
    names(
      await api.list(refs.pods, { namespace: 'elsewhere', fieldSelector: 'spec.nodeName=mem-a', resourceVersion: '0' }),
    ),
    ['elsewhere/a2'],
  );
  t.deepEqual(
    names(await api.list(refs.pods, { fieldSelector: 'spec.nodeName=mem-a,metadata.name=a1', resourceVersion: '0' })),
    ['default/a1'],
  );
  // a pod deleted is gone from the remembered answer too
  await api.delete(refs.pods, 'a1', { namespace: 'default', gracePeriodSeconds: 0 });
  const afterDelete = await api.list(refs.pods, { fieldSelector: 'spec.nodeName=mem-a', resourceVersion: '0' });
  t.deepEqual(names(afterDelete), ['elsewhere/a2']);
});

test('a list with a resourceVersion that is not a number is refused', async (t) => {
  const err = await t.throwsAsync(
    shared.client().list(refs.pods, { fieldSelector: 'spec.nodeName=mem-a', resourceVersion: 'latest' }),
  );
  t.true(isApiError(err, 'BadRequest'));
  t.regex(err.message, /invalid resourceVersion "latest"/);
});

test('a list by metadata.name answers that one object (or none), other selectors still apply, and a watch from its revision misses nothing', async (t) => {
  const api = shared.client();
  await api.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'one', namespace: 'default', labels: { a: 'b' } },
  } as KubeObject);
  await api.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'two', namespace: 'default' },
  } as KubeObject);
  const one = await api.list(refs.configmaps, { namespace: 'default', fieldSelector: 'metadata.name=one' });
  t.deepEqual(
    one.items.map((o) => o.metadata.name),
    ['one'],
  );
  t.deepEqual(
    (
      await api.list(refs.configmaps, {
        namespace: 'default',
        fieldSelector: 'metadata.name=one',
        labelSelector: 'a=c',
      })
    ).items,
    [],
  );
  t.deepEqual(
    (await api.list(refs.configmaps, { namespace: 'default', fieldSelector: 'metadata.name=missing' })).items,
    [],
  );
  // across namespaces the name is not one key: still answered, by a read of the collection
  t.deepEqual(
    (await api.list(refs.configmaps, { fieldSelector: 'metadata.name=two' })).items.map((o) => o.metadata.name),
    ['two'],
  );
  const watched: string[] = [];
  const stop = new AbortController();
  const watching = (async () => {
    for await (const event of api.watch(refs.configmaps, {
      namespace: 'default',
      fieldSelector: 'metadata.name=one',
      resourceVersion: one.metadata.resourceVersion!,
      signal: stop.signal,
    })) {
      watched.push(`${event.type} ${(event.object.data as Record<string, string> | undefined)?.v ?? ''}`);
      if (watched.length === 1) stop.abort();
    }
  })().catch(() => undefined);
  await api.patch(refs.configmaps, 'one', { data: { v: '1' } }, { namespace: 'default' });
  await watching;
  t.deepEqual(watched, ['MODIFIED 1']);
});
