/**
 * The nftables mode on the real kernel (this host's nft), inside lab namespaces: two nodes each
 * running a ServiceProxy in nftables mode, pods with busybox servers, a client outside the
 * cluster (topology.ts); and the transactions of the tracer scenarios, full and partial, loaded
 * into real nft, which checks every reference the fake model checks and more.
 */
import anyTest, { type TestFn } from 'ava';
import { existsSync } from 'node:fs';
import type { Service } from '../../../kube/corev1.ts';
import type { EndpointSlice } from '../../../kube/discoveryv1.ts';
import { ChangeTracker } from '../../../netproxy/change-tracker.ts';
import { nftCommand } from '../../../netproxy/nftables-applier.ts';
import { emptyNftMemory, renderNftables } from '../../../netproxy/nftables-renderer.ts';
import { ServiceProxy } from '../../../netproxy/service-proxy.ts';
import { testConfig, thisNode } from '../fixtures.ts';
import { generate, rng } from '../generate.ts';
import { labUnavailable, waitFor } from './lab.ts';
import { allSynced, outsideIP, startProxyLab, Topology, type LabPod } from './topology.ts';

const test = anyTest as TestFn;
const unavailable =
  labUnavailable() ?? (existsSync(nftCommand()) ? undefined : 'nft is not installed (Debian nftables)');
const topo = new Topology();
const proxies: ServiceProxy[] = [];
const stop = new AbortController();
const runs: Promise<void>[] = [];
const pods: Record<string, LabPod> = {};

function svc(name: string, clusterIP: string, extra: Partial<Service['spec']> = {}): Service {
  return {
    metadata: { name, namespace: 'lab' },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      ...extra,
    },
  };
}

function endpoints(name: string, members: LabPod[]): EndpointSlice {
  return {
    metadata: { name: `${name}-1`, namespace: 'lab', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: members.map((p) => ({ addresses: [p.ip], nodeName: p.node.name, conditions: { ready: true } })),
  };
}

function publish(s: Service | undefined, e: EndpointSlice | undefined): void {
  for (const p of proxies) {
    if (s !== undefined) p.onServiceUpdate(undefined, s);
    if (e !== undefined) p.onEndpointSliceUpdate(undefined, e);
  }
}

/** Waits until every proxy has synced what was published so far. */
const synced = () => allSynced(proxies, 15_000);
const namesSeen = (ns: string, url: string, tries: number) => topo.namesSeen(ns, url, tries);

test.before(async () => {
  if (unavailable !== undefined) return;
  await startProxyLab(topo, 'nftables', stop.signal, { pods, proxies, runs });
  publish(
    svc('web', '10.96.0.10', {
      type: 'NodePort',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }],
    }),
    endpoints('web', [pods.a!, pods.b!]),
  );
  await synced();
});

test.after.always(async () => {
  stop.abort();
  await Promise.allSettled(runs);
  await topo.lab.destroy();
});

if (unavailable !== undefined) {
  process.stdout.write(`  - SKIP real nftables proxy tests: ${unavailable}\n`);
  test.skip(`real nftables proxy tests — skipped: ${unavailable}`, () => {});
} else {
  test.serial('a cluster IP reached from a pod lands on pods of both nodes', async (t) => {
    const seen = await waitFor(
      'both pods answered through the cluster IP',
      async () => {
        const names = await namesSeen(pods.client!.ns, 'http://10.96.0.10/', 12);
        return names.has('pod-a') && names.has('pod-b') ? names : undefined;
      },
      15_000,
    );
    t.false(
      [...seen.keys()].some((k) => k.startsWith('error')),
      JSON.stringify([...seen]),
    );
  });

  test.serial('a node port on node 2, from outside the cluster, answers masqueraded', async (t) => {
    const r = await waitFor(
      'node-2:30080 answered',
      async () => {
        const got = await topo.get(topo.outside, `http://${topo.nodes[1]!.ip}:30080/cgi-bin/who`);
        return got.ok ? got : undefined;
      },
      15_000,
    );
    t.not(r.text.split(' ')[1], outsideIP, 'Cluster policy hides the client behind the node');
  });

  test.serial('a service without endpoints refuses at once', async (t) => {
    publish(svc('empty', '10.96.0.20'), undefined);
    await synced();
    const r = await topo.get(pods.client!.ns, 'http://10.96.0.20/', 5);
    t.false(r.ok);
    t.regex(r.text, /refused/i, 'a reset, not a 5 s timeout');
  });

  test.serial('sessionAffinity ClientIP keeps a client on one pod', async (t) => {
    publish(
      svc('sticky', '10.96.0.30', {
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      }),
      endpoints('sticky', [pods.a!, pods.b!]),
    );
    await synced();
    const sticky = await namesSeen(pods.client!.ns, 'http://10.96.0.30/', 15);
    t.is(sticky.size, 1, JSON.stringify([...sticky]));
    t.false([...sticky.keys()][0]!.startsWith('error'));
  });

  test.serial('externalTrafficPolicy Local keeps the client source address', async (t) => {
    publish(
      svc('local', '10.96.0.40', {
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30090 }],
      }),
      endpoints('local', [pods.a!]),
    );
    await synced();
    const r = await topo.get(topo.outside, `http://${topo.nodes[0]!.ip}:30090/cgi-bin/who`);
    t.true(r.ok, r.text);
    t.is(r.text, `pod-a ${outsideIP}`);
  });

  test.serial('hairpin: a pod reaches itself through its own service, seeing another client address', async (t) => {
    publish(svc('self', '10.96.0.60'), endpoints('self', [pods.a!]));
    await synced();
    const r = await topo.get(pods.a!.ns, 'http://10.96.0.60/cgi-bin/who');
    t.true(r.ok, r.text);
    t.is(r.text.split(' ')[0], 'pod-a');
    t.not(r.text.split(' ')[1], pods.a!.ip);
  });

  test.serial('`nft flush ruleset` inside the node is repaired by the full sync the canary triggers', async (t) => {
    const node1 = topo.nodes[0]!;
    const fullSyncs = proxies[0]!.metrics.fullSyncDuration.count;
    const flush = await topo.lab.inNs(node1.ns, [nftCommand(), 'flush', 'ruleset']);
    t.is(flush.code, 0, flush.stderr);
    await waitFor(
      'the cluster IP works again',
      async () => ((await topo.get(pods.client!.ns, 'http://10.96.0.10/', 1)).ok ? true : undefined),
      20_000,
    );
    t.true(proxies[0]!.metrics.fullSyncDuration.count > fullSyncs);
  });

  test.serial(
    'real nft accepts a full render of 400 varied services and 100 partial transactions after it',
    async (t) => {
      const ns = await topo.lab.namespace('gen');
      const { services, slices } = generate(400, 5);
      const tracker = new ChangeTracker(thisNode.name);
      for (const s of services) tracker.onServiceUpdate(undefined, s);
      for (const s of slices) tracker.onEndpointSliceUpdate(undefined, s);
      let commit = tracker.commit();
      let r = renderNftables({ state: commit.state, config: testConfig, changed: 'all', memory: emptyNftMemory });
      const load = async (text: string, what: string) => {
        const out = await topo.lab.run(ns, [nftCommand(), '-f', '-'], text, 60_000);
        t.is(out.code, 0, `${what}: ${out.stderr}`);
      };
      await load(r.transaction, 'full');
      const random = rng(7);
      const current = [...slices];
      for (let step = 0; step < 100; step++) {
        const i = Math.floor(random() * services.length);
        const next = structuredClone(current[i]!);
        next.endpoints = (current[Math.floor(random() * current.length)]!.endpoints ?? []).slice(0, 3);
        if (random() < 0.2) tracker.onServiceUpdate(services[i], undefined);
        tracker.onEndpointSliceUpdate(current[i], next);
        current[i] = next;
        commit = tracker.commit();
        const changed = new Set(commit.changes.flatMap((c) => [...c.previous, ...c.current].map((p) => p.key)));
        r = renderNftables({ state: commit.state, config: testConfig, changed, memory: r.memory });
        if (r.transaction !== '') await load(r.transaction, `partial ${step}`);
      }
      await load(
        renderNftables({ state: commit.state, config: testConfig, changed: 'all', memory: r.memory }).transaction,
        'full again',
      );
    },
  );
}
