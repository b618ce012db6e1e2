/**
 * Streaming lists (KEP-3157), as client-go ≥ 1.35 lists: `sendInitialEvents=true` sends the state
 * as ADDED, a bookmark annotated `k8s.io/initial-events-end` at the state's revision, then the
 * changes, with nothing lost or doubled between the two, on sqlite and etcd, for plain, label- and
 * field-selected watches (the pods-by-node index). The option errors are upstream's.
 */
import test, { type ExecutionContext } from 'ava';
import { KubeClient, type WatchOptions } from '../../../kube/client.ts';
import { refs, type ResourceRef } from '../../../kube/resource-ref.ts';
import type { KubeObject, WatchEvent } from '../../../kube/types.ts';
import { etcdBinary, startEtcd, type EtcdProcess } from '../etcd-process.ts';
import { startInProcess, type InProcessServer } from '../in-process.ts';
import { call, type Identity } from '../server-process.ts';
import { existsSync } from 'node:fs';

interface Backend {
  server: InProcessServer;
  client: KubeClient;
  etcd?: EtcdProcess;
}
const backends = new Map<string, Backend>();
const haveEtcd = existsSync(etcdBinary);

test.before(async () => {
  const sqlite = await startInProcess();
  backends.set('sqlite', { server: sqlite, client: new KubeClient(sqlite.admin) });
  if (haveEtcd) {
    const etcd = await startEtcd();
    const server = await startInProcess({ datastore: 'etcd', etcd });
    backends.set('etcd', { server, client: new KubeClient(server.admin), etcd });
  }
});
test.after.always(async () => {
  for (const backend of backends.values()) {
    backend.client.close();
    await backend.server.destroy();
    await backend.etcd?.destroy();
  }
});

const endMarker = 'k8s.io/initial-events-end';
const isEnd = (event: WatchEvent) =>
  event.type === 'BOOKMARK' && event.object.metadata.annotations?.[endMarker] === 'true';

/** Events until `until` says stop (the stopping event included), or fails after timeoutMs. */
async function eventsUntil(
  client: KubeClient,
  ref: ResourceRef,
  options: WatchOptions,
  until: (seen: WatchEvent[]) => boolean,
  timeoutMs = 8000,
): Promise<WatchEvent[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const seen: WatchEvent[] = [];
  try {
    for await (const event of client.watch(ref, { ...options, signal: abort.signal })) {
      seen.push(event);
      if (until(seen)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

const configMap = (namespace: string, name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels },
});
const pod = (namespace: string, name: string, nodeName: string): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1.36' }] },
  }) as KubeObject;

for (const name of ['sqlite', 'etcd']) {
  const backendTest = (title: string, body: (t: ExecutionContext, b: Backend) => Promise<void>) =>
    test(`${name}: ${title}`, async (t) => {
      const backend = backends.get(name);
      if (backend === undefined) {
        t.log(`SKIP: ${etcdBinary} is not installed`);
        t.pass();
        return;
      }
      await body(t, backend);
    });

  backendTest('the state, the end bookmark at its revision, then the changes', async (t, { client }) => {
    const ns = `wl-plain-${name}`;
    await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await client.create(refs.configmaps, configMap(ns, 'one'));
    const two = await client.create(refs.configmaps, configMap(ns, 'two'));
    let wrote: KubeObject | undefined;
    const events = await eventsUntil(
      client,
      refs.configmaps,
      { namespace: ns, sendInitialEvents: true, allowBookmarks: true },
      (seen) => {
        if (isEnd(seen.at(-1)!) && wrote === undefined) {
          void client.create(refs.configmaps, configMap(ns, 'three')).then((o) => (wrote = o));
        }
        return seen.at(-1)!.object.metadata.name === 'three';
      },
    );
    const types = events
      .filter((e) => e.type !== 'BOOKMARK' || isEnd(e))
      .map((e) => `${e.type}:${e.object.metadata.name ?? 'end'}`);
    t.deepEqual(types, ['ADDED:one', 'ADDED:two', 'BOOKMARK:end', 'ADDED:three']);
    const end = events.find(isEnd)!;
    t.true(
      Number(end.object.metadata.resourceVersion) >= Number(two.metadata.resourceVersion),
      'the bookmark is at the state it ends',
    );
    t.is(end.object.kind, 'ConfigMap');
    // from a resourceVersion: a state no older than it
    const since = await eventsUntil(
      client,
      refs.configmaps,
      { namespace: ns, sendInitialEvents: true, allowBookmarks: true, resourceVersion: two.metadata.resourceVersion! },
      (seen) => isEnd(seen.at(-1)!),
    );
    t.deepEqual(
      since.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata.name),
      ['one', 'three', 'two'],
    );
    // "0": any remembered state, still closed by the bookmark
    const any = await eventsUntil(
      client,
      refs.configmaps,
      { namespace: ns, sendInitialEvents: true, allowBookmarks: true, resourceVersion: '0' },
      (seen) => isEnd(seen.at(-1)!),
    );
    t.is(any.filter((e) => e.type === 'ADDED').length, 3);
  });

  backendTest('nothing lost or doubled while writes race the start of the stream', async (t, { client }) => {
    const ns = `wl-race-${name}`;
    await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const total = 40;
    const writes = (async () => {
      for (let i = 0; i < total; i++) await client.create(refs.configmaps, configMap(ns, `cm-${i}`, { race: 'yes' }));
    })();
    const seenNames = new Map<string, number>();
    const events = await eventsUntil(
      client,
      refs.configmaps,
      { namespace: ns, labelSelector: 'race=yes', sendInitialEvents: true, allowBookmarks: true },
      (seen) => {
        const last = seen.at(-1)!;
        if (last.type === 'ADDED')
          seenNames.set(last.object.metadata.name!, (seenNames.get(last.object.metadata.name!) ?? 0) + 1);
        return seenNames.size === total;
      },
    );
    await writes;
    t.is(seenNames.size, total);
    t.deepEqual(
      [...seenNames.values()].filter((n) => n !== 1),
      [],
      'every object arrives once',
    );
    t.is(events.filter(isEnd).length, 1);
  });

  backendTest("one node's pods (the pods-by-node index) stream with their end bookmark", async (t, { client }) => {
    const ns = `wl-pods-${name}`;
    await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await client.create(refs.pods, pod(ns, 'a1', `${name}-node-a`));
    await client.create(refs.pods, pod(ns, 'b1', `${name}-node-b`));
    let wrote = false;
    const events = await eventsUntil(
      client,
      refs.pods,
      { fieldSelector: `spec.nodeName=${name}-node-a`, sendInitialEvents: true, allowBookmarks: true },
      (seen) => {
        if (isEnd(seen.at(-1)!) && !wrote) {
          wrote = true;
          void client
            .create(refs.pods, pod(ns, 'b2', `${name}-node-b`))
            .then(() => client.create(refs.pods, pod(ns, 'a2', `${name}-node-a`)));
        }
        return seen.at(-1)!.object.metadata.name === 'a2';
      },
    );
    t.deepEqual(
      events
        .filter((e) => e.type !== 'BOOKMARK' || isEnd(e))
        .map((e) => `${e.type}:${e.object.metadata.name ?? 'end'}`),
      ['ADDED:a1', 'BOOKMARK:end', 'ADDED:a2'],
    );
  });

  backendTest(
    'sendInitialEvents=false streams only the changes, even from no resourceVersion',
    async (t, { client }) => {
      const ns = `wl-none-${name}`;
      await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await client.create(refs.configmaps, configMap(ns, 'before'));
      // the stream's start is not visible from here: write until a change arrives
      let written = 0;
      const writes: Promise<unknown>[] = [];
      const writer = setInterval(
        () => writes.push(client.create(refs.configmaps, configMap(ns, `after-${written++}`))),
        300,
      );
      try {
        const events = await eventsUntil(
          client,
          refs.configmaps,
          { namespace: ns, sendInitialEvents: false, allowBookmarks: true, resourceVersion: '0' },
          (seen) => seen.at(-1)!.type !== 'BOOKMARK',
        );
        t.regex(events.at(-1)!.object.metadata.name!, /^after-/);
        t.is(events.at(-1)!.type, 'ADDED');
      } finally {
        clearInterval(writer);
        // every write answered before the test ends (a write still open as the server stops would reject unseen)
        await Promise.all(writes);
      }
    },
  );
}

test('option errors as upstream: 422 for the ListOptions rules', async (t) => {
  const { server } = backends.get('sqlite')!;
  const admin: Identity = { cert: server.admin.cert!, key: server.admin.key! };
  const get = (query: string) =>
    call(
      { dataDir: server.dataDir, port: server.server.port },
      'GET',
      `/api/v1/namespaces/default/configmaps?${query}`,
      admin,
    );
  const cases: [string, string][] = [
    [
      'watch=1&sendInitialEvents=true',
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    ],
    [
      'watch=1&resourceVersionMatch=NotOlderThan',
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    ],
    [
      'watch=1&sendInitialEvents=true&resourceVersionMatch=Exact',
      'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
    ],
    [
      'sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=1',
      'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list',
    ],
    [
      'resourceVersionMatch=NotOlderThan',
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    ],
  ];
  for (const [query, message] of cases) {
    const reply = await get(query);
    t.is(reply.status, 422, query);
    t.like(reply.body as object, { kind: 'Status', reason: 'Invalid', code: 422, message }, query);
  }
  // still serving normal clients
  t.is((await get('limit=1')).status, 200);
});
