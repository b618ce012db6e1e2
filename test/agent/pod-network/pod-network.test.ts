/**
 * The pod network's planner and loop against a stateful fake kernel.
 *
 * Address conventions (as in a routed sandbox):
 *   cluster CIDR 10.244.0.0/16; node-k has podCIDR 10.244.k.0/24 and VTEP address 10.244.k.0
 *   segment A 172.30.0.0/24 (node-1 .11, node-3 .13), segment B 172.30.1.0/24 (node-2 .12)
 *   the node under test is node-1 on segment A
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Node } from '../../../kube/corev1.ts';
import { nodeNetworkFacts } from '../../../agent/pod-network/node-facts.ts';
import { planPeers, type SelfFacts } from '../../../agent/pod-network/plan.ts';
import { PodNetwork, type PodNetworkConfig } from '../../../agent/pod-network/pod-network.ts';
import { podNetworkAnnotations, type PodNetworkBackend } from '../../../agent/pod-network/settings.ts';
import { FakeNetworkHost } from './fake-network-host.ts';

const clusterCIDR = '10.244.0.0/16';
const segmentA = '172.30.0.0/24';

function node(
  k: number,
  ip: string,
  extra: { backend?: PodNetworkBackend; mac?: string; podCIDR?: string | null; clusterCIDR?: string } = {},
): Node {
  const annotations: Record<string, string> = {};
  if (extra.backend) annotations[podNetworkAnnotations.backend] = extra.backend;
  if (extra.mac) annotations[podNetworkAnnotations.vtepMac] = extra.mac;
  if (extra.clusterCIDR) annotations[podNetworkAnnotations.clusterCIDR] = extra.clusterCIDR;
  const podCIDR = extra.podCIDR === null ? undefined : (extra.podCIDR ?? `10.244.${k}.0/24`);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `node-${k}`, annotations },
    spec: podCIDR === undefined ? {} : { podCIDR },
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
  } as Node;
}

const peer2 = (mac = '02:aa:00:00:00:02', ip = '172.30.1.12') => node(2, ip, { backend: 'auto', mac });
const peer3 = () => node(3, '172.30.0.13', { backend: 'auto', mac: '02:aa:00:00:00:03' });

function selfFacts(backend: SelfFacts['backend']): SelfFacts {
  return { name: 'node-1', podCIDR: '10.244.1.0/24', ip: '172.30.0.11', backend };
}

const observedWithVtep = {
  routes: [],
  connectedSubnets: [segmentA],
  underlay: { dev: 'eth0', mtu: 1500 },
  vtep: {
    mac: '02:00:00:00:00:01',
    vni: 1,
    local: '172.30.0.11',
    port: 8472,
    learning: false,
    udpChecksum: false,
    mtu: 1450,
    up: true,
    addresses: ['10.244.1.0/32'],
  },
  neighbours: [],
  fdb: [],
};

test('auto routes a peer on the same segment by host-gw and one behind a router by VXLAN', (t) => {
  const plan = planPeers(selfFacts('auto'), [peer2(), peer3()].map(nodeNetworkFacts), clusterCIDR, observedWithVtep);
  t.deepEqual(plan.unroutable, []);
  t.deepEqual(plan.actions, [
    { kind: 'replace-fdb', entry: { mac: '02:aa:00:00:00:02', dst: '172.30.1.12' } },
    { kind: 'replace-neighbour', neighbour: { ip: '10.244.2.0', mac: '02:aa:00:00:00:02' } },
    { kind: 'replace-route', route: { dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'bosun.1', onlink: true } },
    { kind: 'replace-route', route: { dst: '10.244.3.0/24', via: '172.30.0.13', onlink: false } },
  ]);
});

test('each backend routes what it can and says why it cannot route the rest', (t) => {
  const peers = [
    peer2(),
    peer3(),
    node(4, '172.30.0.14', { backend: 'host-gw' }),
    node(5, '172.30.0.15', { podCIDR: '10.99.5.0/24' }),
    node(6, '172.30.0.16', { podCIDR: '10.244.1.0/25' }),
    node(7, '172.30.0.17', { podCIDR: null }),
  ].map(nodeNetworkFacts);
  const routed = (backend: SelfFacts['backend']) => {
    const plan = planPeers(selfFacts(backend), peers, clusterCIDR, observedWithVtep);
    return {
      routes: plan.actions.flatMap((a) => (a.kind === 'replace-route' ? [`${a.route.dst} via ${a.route.via}`] : [])),
      unroutable: plan.unroutable.map((u) => u.peer),
    };
  };
  t.deepEqual(routed('host-gw'), {
    routes: ['10.244.3.0/24 via 172.30.0.13', '10.244.4.0/24 via 172.30.0.14'],
    unroutable: ['node-2', 'node-5', 'node-6'],
  });
  t.deepEqual(routed('vxlan'), {
    routes: ['10.244.2.0/24 via 10.244.2.0', '10.244.3.0/24 via 10.244.3.0'],
    unroutable: ['node-4', 'node-5', 'node-6'],
  });
  t.deepEqual(routed('auto'), {
    routes: ['10.244.2.0/24 via 10.244.2.0', '10.244.3.0/24 via 172.30.0.13', '10.244.4.0/24 via 172.30.0.14'],
    unroutable: ['node-5', 'node-6'],
  });
});

test('a hostile annotation never reaches a route: malformed IPs, MACs and CIDRs read as absent', (t) => {
  const hostile = node(2, '172.30.1.12', { mac: '02:aa:00:00:00:02 dev eth0' });
  hostile.metadata.annotations![podNetworkAnnotations.publicIP] = '1.2.3.4 dev lo';
  hostile.metadata.annotations![podNetworkAnnotations.clusterCIDR] = '0.0.0.0/0; reboot';
  hostile.spec!.podCIDR = '10.244.2.1/24';
  const facts = nodeNetworkFacts(hostile);
  t.is(facts.vtepMac, undefined);
  t.is(facts.ip, '172.30.1.12');
  t.is(facts.clusterCIDR, undefined);
  t.is(facts.podCIDR, undefined);
});

interface Harness {
  host: FakeNetworkHost;
  nodes: Node[];
  published: Record<string, string | null>[];
  network: (overrides?: Partial<PodNetworkConfig>) => PodNetwork;
  conflist: () => { mtu: number; subnet: string };
}

function harness(t: { teardown: (fn: () => void) => void }, backend: SelfFacts['backend'] = 'auto'): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'pod-network-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const h: Harness = {
    host: new FakeNetworkHost([segmentA]),
    nodes: [node(1, '172.30.0.11', { clusterCIDR })],
    published: [],
    network: (overrides = {}) =>
      new PodNetwork(
        {
          nodeName: 'node-1',
          nodeIP: '172.30.0.11',
          backend,
          cniConfDir: join(dir, 'net.d'),
          cniDataDir: join(dir, 'ipam'),
          cniNetworkName: 'bosun',
          clusterCIDR: undefined,
          serviceCIDR: '10.96.0.0/12',
          ...overrides,
        },
        {
          host: h.host,
          nodes: () => h.nodes,
          publish: async (annotations) => {
            h.published.push(annotations);
            const own = h.nodes[0]!;
            const merged = { ...own.metadata.annotations, ...annotations };
            for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k];
            own.metadata.annotations = merged as Record<string, string>;
          },
          log: pino({ level: 'silent' }),
        },
      ),
    conflist: () => {
      const parsed = JSON.parse(readFileSync(join(dir, 'net.d', '10-bosun.conflist'), 'utf8'));
      return { mtu: parsed.plugins[0].mtu, subnet: parsed.plugins[0].ipam.ranges[0][0].subnet };
    },
  };
  return h;
}

test('the first sync writes the conflist, makes bosun.1, publishes its MAC and routes every peer', async (t) => {
  const h = harness(t);
  h.nodes.push(peer2(), peer3());
  const state = await h.network().sync();
  t.like(state, { phase: 'synced', podCIDR: '10.244.1.0/24', clusterCIDR, unroutable: [] });
  t.deepEqual(h.conflist(), { mtu: 1450, subnet: '10.244.1.0/24' });
  t.deepEqual(h.host.vtep?.addresses, ['10.244.1.0/32']);
  t.is(h.host.vtep?.mtu, 1450);
  t.deepEqual(h.published, [
    {
      [podNetworkAnnotations.backend]: 'auto',
      [podNetworkAnnotations.publicIP]: '172.30.0.11',
      [podNetworkAnnotations.vtepMac]: h.host.vtep!.mac,
    },
  ]);
  t.deepEqual(
    h.host.routes.map((r) => `${r.dst} via ${r.via}`),
    ['10.244.2.0/24 via 10.244.2.0', '10.244.3.0/24 via 172.30.0.13'],
  );
  t.deepEqual(h.host.fdb, [{ mac: '02:aa:00:00:00:02', dst: '172.30.1.12' }]);
  t.deepEqual(h.host.masquerade, { clusterCIDR, serviceCIDR: '10.96.0.0/12' });
});

test('a restarted agent that finds everything in place changes nothing', async (t) => {
  const h = harness(t);
  h.nodes.push(peer2(), peer3());
  await h.network().sync();
  const changesBefore = h.host.changes;
  const publishedBefore = h.published.length;
  const again = await h.network().sync();
  t.like(again, { phase: 'synced', peerActions: 0 });
  t.is(h.host.changes, changesBefore);
  t.is(h.published.length, publishedBefore);
});

test('peers removed, moved and given another podCIDR are followed; stale entries go', async (t) => {
  const h = harness(t);
  h.nodes.push(peer2(), peer3());
  const network = h.network();
  await network.sync();
  // node-2 moves to another address and gets a new VTEP MAC; node-3 is deleted
  h.nodes = [h.nodes[0]!, peer2('02:aa:00:00:00:22', '172.30.1.22')];
  await network.sync();
  t.deepEqual(
    h.host.routes.map((r) => `${r.dst} via ${r.via}`),
    ['10.244.2.0/24 via 10.244.2.0'],
  );
  t.deepEqual(h.host.fdb, [{ mac: '02:aa:00:00:00:22', dst: '172.30.1.22' }]);
  t.deepEqual(h.host.neighbours, [{ ip: '10.244.2.0', mac: '02:aa:00:00:00:22' }]);
  const lastPeerCall = h.host.calls.filter((c) => c.method === 'applyPeers').at(-1)!;
  t.false(
    lastPeerCall.actions!.some((a) => a.kind === 'delete-route' && a.route.dst === '10.244.2.0/24'),
    'a route that stays wanted is replaced, never deleted first',
  );
  // node-2's subnet is reassigned
  h.nodes = [
    h.nodes[0]!,
    node(2, '172.30.1.22', { backend: 'auto', mac: '02:aa:00:00:00:22', podCIDR: '10.244.9.0/24' }),
  ];
  await network.sync();
  t.deepEqual(
    h.host.routes.map((r) => `${r.dst} via ${r.via}`),
    ['10.244.9.0/24 via 10.244.9.0'],
  );
  t.deepEqual(h.host.neighbours, [{ ip: '10.244.9.0', mac: '02:aa:00:00:00:22' }]);
  // the last peer leaves
  h.nodes = [h.nodes[0]!];
  await network.sync();
  t.deepEqual(h.host.routes, []);
  t.deepEqual(h.host.neighbours, []);
  t.deepEqual(h.host.fdb, []);
});

test('routes that are not ours, or outside the cluster CIDR, are never touched', async (t) => {
  const h = harness(t);
  h.host.routes.push(
    { dst: '10.244.7.0/24', via: '172.30.0.99', onlink: false, owner: 'other' },
    { dst: '192.168.5.0/24', via: '172.30.0.1', onlink: false, owner: 'ours' },
  );
  await h.network().sync();
  t.deepEqual(
    h.host.routes.map((r) => r.dst),
    ['10.244.7.0/24', '192.168.5.0/24'],
  );
});

test('the conflist follows the podCIDR and the backend sets its MTU', async (t) => {
  const h = harness(t, 'host-gw');
  const network = h.network();
  t.like(await network.sync(), { phase: 'synced' });
  t.deepEqual(h.conflist(), { mtu: 1500, subnet: '10.244.1.0/24' });
  t.is(h.host.vtep, undefined, 'host-gw needs no VXLAN device');
  h.nodes[0]!.spec!.podCIDR = '10.244.42.0/24';
  await network.sync();
  t.deepEqual(h.conflist(), { mtu: 1500, subnet: '10.244.42.0/24' });
});

test('switching from vxlan to host-gw removes bosun.1 and withdraws the VTEP MAC', async (t) => {
  const h = harness(t, 'vxlan');
  h.nodes.push(peer2());
  await h.network().sync();
  t.truthy(h.host.vtep);
  const hostGw = h.network({ backend: 'host-gw' });
  const state = await hostGw.sync();
  t.is(h.host.vtep, undefined);
  t.deepEqual(h.host.routes, []);
  t.is(h.nodes[0]!.metadata.annotations![podNetworkAnnotations.vtepMac], undefined);
  t.like(state, { phase: 'synced', unroutable: [{ peer: 'node-2' }] });
});

test('it waits for a podCIDR and a cluster CIDR, learning the latter from its Node', async (t) => {
  const h = harness(t);
  h.nodes[0] = node(1, '172.30.0.11', { podCIDR: null });
  t.like(await h.network().sync(), { phase: 'waiting' });
  h.nodes[0] = node(1, '172.30.0.11');
  const waiting = await h.network().sync();
  t.like(waiting, { phase: 'waiting' });
  t.regex((waiting as { reason: string }).reason, /cluster CIDR/);
  t.like(await h.network({ clusterCIDR }).sync(), { phase: 'synced', clusterCIDR });
  t.is(h.host.calls.filter((c) => c.method !== 'observe').length > 0, true);
});

test('a failed step fails the sync, and the next sync repairs it from what the kernel holds', async (t) => {
  const h = harness(t);
  h.nodes.push(peer2(), peer3());
  const network = h.network();
  h.host.failNext('applyPeers', new Error('RTNETLINK answers: Network is unreachable'));
  await t.throwsAsync(network.sync(), { message: /Network is unreachable/ });
  t.deepEqual(h.host.routes, []);
  await network.sync();
  t.is(h.host.routes.length, 2);
});

test('a VTEP made for another address is made again, and the new MAC published', async (t) => {
  const h = harness(t);
  await h.network().sync();
  const firstMac = h.host.vtep!.mac;
  h.host.vtep!.local = '172.30.0.99';
  await h.network().sync();
  t.is(h.host.vtep!.local, '172.30.0.11');
  t.not(h.host.vtep!.mac, firstMac);
  t.is(h.nodes[0]!.metadata.annotations![podNetworkAnnotations.vtepMac], h.host.vtep!.mac);
});

test('a VTEP that checksums its outer UDP header is made again without', async (t) => {
  const h = harness(t);
  await h.network().sync();
  h.host.vtep!.udpChecksum = true;
  await h.network().sync();
  t.false(h.host.vtep!.udpChecksum);
});
