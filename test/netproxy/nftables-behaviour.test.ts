/**
 * What the rendered nftables rules do to packets, checked with the nftables tracer: the same
 * scenarios as iptables-behaviour.test.ts (address conventions in fixtures.ts).
 */
import test from 'ava';
import { traceNftPacket } from '../../netproxy/nftables-tracer.ts';
import { landing, type Packet } from '../../netproxy/tracer.ts';
import { localPod, offClusterClient, remotePod, service, slice, stateOf, thisNode, traceContext } from './fixtures.ts';
import { landsNft, nftModelOf } from './nft-harness.ts';

const tcp = (src: string, dst: string, dport: number): Packet => ({ src, dst, protocol: 'tcp', dport });

function near(t: { true: (c: boolean, m?: string) => void }, got: number | undefined, want: number, what: string) {
  t.true(got !== undefined && Math.abs(got - want) < 1e-9, `${what}: got ${got}, want ${want}`);
}

test('cluster IP balances evenly over ready endpoints on both nodes', (t) => {
  const model = nftModelOf(stateOf([service('web')], [slice('web', [localPod(5), remotePod(6), remotePod(7)])]));
  const where = new Map(landsNft(model, tcp(localPod(9), '10.96.0.10', 80)));
  t.is(where.size, 3);
  for (const ep of [`${localPod(5)}:8080`, `${remotePod(6)}:8080`, `${remotePod(7)}:8080`])
    near(t, where.get(ep), 1 / 3, ep);
});

test('a process on the node reaches the cluster IP too (nat output)', (t) => {
  const model = nftModelOf(stateOf([service('web')], [slice('web', [remotePod(6)])]));
  t.deepEqual(landsNft(model, tcp(thisNode.ip, '10.96.0.10', 80), 'local'), [[`${remotePod(6)}:8080`, 1]]);
});

test('wrong port or unknown address is left alone', (t) => {
  const model = nftModelOf(stateOf([service('web')], [slice('web', [remotePod(6)])]));
  t.deepEqual(landsNft(model, tcp(localPod(9), '10.96.0.10', 81)), [['ACCEPT', 1]]);
  t.deepEqual(landsNft(model, tcp(localPod(9), '10.96.0.11', 80)), [['ACCEPT', 1]]);
});

test('a service without endpoints is rejected, from pods and from the node', (t) => {
  const model = nftModelOf(stateOf([service('empty')], []));
  t.deepEqual(landsNft(model, tcp(localPod(9), '10.96.0.10', 80)), [['REJECT', 1]]);
  t.deepEqual(landsNft(model, tcp(thisNode.ip, '10.96.0.10', 80), 'local'), [['REJECT', 1]]);
});

test('only not-ready endpoints: rejected; terminating-but-serving ones are used when nothing is ready', (t) => {
  const notReady = nftModelOf(stateOf([service('web')], [slice('web', [{ ip: remotePod(6), ready: false }])]));
  t.deepEqual(landsNft(notReady, tcp(localPod(9), '10.96.0.10', 80)), [['REJECT', 1]]);
  const terminating = nftModelOf(
    stateOf(
      [service('web')],
      [
        slice('web', [
          { ip: remotePod(6), ready: false, serving: true, terminating: true },
          { ip: remotePod(7), ready: false, serving: false, terminating: true },
        ]),
      ],
    ),
  );
  t.deepEqual(landsNft(terminating, tcp(localPod(9), '10.96.0.10', 80)), [[`${remotePod(6)}:8080`, 1]]);
});

test('traffic to a cluster IP from outside the cluster CIDR is masqueraded; pod traffic is not', (t) => {
  const model = nftModelOf(stateOf([service('web')], [slice('web', [remotePod(6)])]));
  t.false(traceNftPacket(model, tcp(localPod(9), '10.96.0.10', 80), 'forwarded', traceContext)[0]!.masqueraded);
  const fromOutside = traceNftPacket(model, tcp(offClusterClient, '10.96.0.10', 80), 'forwarded', traceContext);
  t.true(fromOutside[0]!.masqueraded);
  t.is(fromOutside[0]!.endpoint, `${remotePod(6)}:8080`);
});

test('hairpin: a pod reaching itself through its service is masqueraded', (t) => {
  const model = nftModelOf(stateOf([service('web')], [slice('web', [localPod(5)])]));
  const self = traceNftPacket(model, tcp(localPod(5), '10.96.0.10', 80), 'forwarded', traceContext);
  t.deepEqual(
    self.map((o) => [o.endpoint, o.masqueraded]),
    [[`${localPod(5)}:8080`, true]],
  );
  t.false(traceNftPacket(model, tcp(localPod(9), '10.96.0.10', 80), 'forwarded', traceContext)[0]!.masqueraded);
});

test('node port answers on the node address, masqueraded, but not on 127.0.0.1', (t) => {
  const svc = service('np', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
  const model = nftModelOf(stateOf([svc], [slice('np', [remotePod(6)])]));
  const out = traceNftPacket(model, tcp(offClusterClient, thisNode.ip, 30080), 'forwarded', traceContext);
  t.deepEqual(
    out.map((o) => [o.verdict, o.endpoint, o.masqueraded]),
    [['ACCEPT', `${remotePod(6)}:8080`, true]],
  );
  t.is(traceNftPacket(model, tcp('127.0.0.1', '127.0.0.1', 30080), 'local', traceContext)[0]!.endpoint, undefined);
});

test('node port without endpoints is rejected', (t) => {
  const svc = service('np', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
  const model = nftModelOf(stateOf([svc], []));
  t.deepEqual(landsNft(model, tcp(offClusterClient, thisNode.ip, 30080)), [['REJECT', 1]]);
});

test('externalTrafficPolicy Local: only local endpoints, client address kept; none local -> DROP', (t) => {
  const svc = service('loc', {
    type: 'NodePort',
    externalLocal: true,
    ports: [{ name: 'http', port: 80, nodePort: 30081 }],
    externalIPs: ['192.0.2.10'],
  });
  const model = nftModelOf(stateOf([svc], [slice('loc', [localPod(5), remotePod(6)])]));
  for (const [dst, port] of [
    [thisNode.ip, 30081],
    ['192.0.2.10', 80],
  ] as const) {
    const out = traceNftPacket(model, tcp(offClusterClient, dst, port), 'forwarded', traceContext);
    t.deepEqual(
      out.map((o) => [o.endpoint, o.masqueraded]),
      [[`${localPod(5)}:8080`, false]],
      `${dst}:${port}`,
    );
  }
  t.is(landsNft(model, tcp(localPod(9), '192.0.2.10', 80)).length, 2, 'pods may use any endpoint');
  t.is(landsNft(model, tcp(localPod(9), '10.96.0.10', 80)).length, 2, 'the cluster IP is not affected');

  const noLocal = nftModelOf(stateOf([svc], [slice('loc', [remotePod(6)])]));
  t.deepEqual(landsNft(noLocal, tcp(offClusterClient, thisNode.ip, 30081)), [['DROP', 1]]);
  const fromNode = traceNftPacket(noLocal, tcp(thisNode.ip, thisNode.ip, 30081), 'local', traceContext);
  t.deepEqual(
    fromNode.map((o) => [o.endpoint, o.masqueraded]),
    [[`${remotePod(6)}:8080`, true]],
  );
});

test('internalTrafficPolicy Local: cluster IP uses local endpoints only; none local -> DROP', (t) => {
  const svc = service('itp', { internalLocal: true });
  const model = nftModelOf(stateOf([svc], [slice('itp', [localPod(5), remotePod(6)])]));
  t.deepEqual(landsNft(model, tcp(localPod(9), '10.96.0.10', 80)), [[`${localPod(5)}:8080`, 1]]);
  const none = nftModelOf(stateOf([svc], [slice('itp', [remotePod(6)])]));
  t.deepEqual(landsNft(none, tcp(localPod(9), '10.96.0.10', 80)), [['DROP', 1]]);
});

test('externalIPs and load-balancer IPs reach endpoints, masqueraded under Cluster policy', (t) => {
  const svc = service('lb', {
    type: 'LoadBalancer',
    externalIPs: ['192.0.2.20'],
    lbIPs: ['192.0.2.30'],
    ports: [{ name: 'http', port: 80, nodePort: 30082 }],
  });
  const model = nftModelOf(stateOf([svc], [slice('lb', [remotePod(6)])]));
  for (const dst of ['192.0.2.20', '192.0.2.30']) {
    const out = traceNftPacket(model, tcp(offClusterClient, dst, 80), 'forwarded', traceContext);
    t.deepEqual(
      out.map((o) => [o.endpoint, o.masqueraded]),
      [[`${remotePod(6)}:8080`, true]],
      dst,
    );
  }
  t.deepEqual(landsNft(nftModelOf(stateOf([svc], [])), tcp(offClusterClient, '192.0.2.30', 80)), [['REJECT', 1]]);
});

test('loadBalancerSourceRanges: listed clients reach the load-balancer IP, others are dropped; node ports and external IPs are not limited', (t) => {
  const svc = service('fw', {
    type: 'LoadBalancer',
    lbIPs: ['192.0.2.30'],
    externalIPs: ['192.0.2.20'],
    sourceRanges: ['203.0.113.0/28', ' 198.51.100.9/32 '],
    ports: [{ name: 'http', port: 80, nodePort: 30084 }],
  });
  const model = nftModelOf(stateOf([svc], [slice('fw', [remotePod(6)])]));
  for (const client of [offClusterClient, '198.51.100.9'])
    t.deepEqual(landsNft(model, tcp(client, '192.0.2.30', 80)), [[`${remotePod(6)}:8080`, 1]], client);
  t.deepEqual(landsNft(model, tcp('198.51.100.10', '192.0.2.30', 80)), [['DROP', 1]]);
  t.deepEqual(landsNft(model, tcp('198.51.100.10', thisNode.ip, 30084)), [[`${remotePod(6)}:8080`, 1]]);
  t.deepEqual(landsNft(model, tcp('198.51.100.10', '192.0.2.20', 80)), [[`${remotePod(6)}:8080`, 1]]);
  // a list with no usable range admits nobody rather than everybody
  const broken = service('fw', { type: 'LoadBalancer', lbIPs: ['192.0.2.30'], sourceRanges: ['not-a-cidr'] });
  const closed = nftModelOf(stateOf([broken], [slice('fw', [remotePod(6)])]));
  t.deepEqual(landsNft(closed, tcp(offClusterClient, '192.0.2.30', 80)), [['DROP', 1]]);
});

test('ClientIP affinity: a remembered client always lands on its endpoint; new clients are remembered', (t) => {
  const svc = service('sticky', { affinitySeconds: 60 });
  const model = nftModelOf(stateOf([svc], [slice('sticky', [remotePod(6), remotePod(7)])]));
  const first = traceNftPacket(model, tcp(localPod(9), '10.96.0.10', 80), 'forwarded', traceContext);
  t.is(first.length, 2);
  for (const o of first) t.is(o.remembered.length, 1, 'every first choice records the client');
  const chosen = first.find((o) => o.endpoint === `${remotePod(7)}:8080`)!;
  const again = traceNftPacket(model, tcp(localPod(9), '10.96.0.10', 80), 'forwarded', {
    ...traceContext,
    affinity: new Set(chosen.remembered),
  });
  t.deepEqual([...landing(again)], [[`${remotePod(7)}:8080`, 1]]);
  const timeouts = [...model.tables.get('ip bosun-proxy')!.sets.values()].map((s) => s.spec);
  t.true(
    timeouts.some((s) => s.includes('timeout 60s')),
    'the timeout is the configured one',
  );
});

test('multi-port and protocols: each port and protocol goes to its own target port', (t) => {
  const svc = service('dns', {
    ports: [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      { name: 'x', port: 9, protocol: 'SCTP' },
    ],
  });
  const sl = slice('dns', [remotePod(6)], {
    ports: [
      { name: 'dns', port: 5353, protocol: 'UDP' },
      { name: 'dns-tcp', port: 5354, protocol: 'TCP' },
      { name: 'x', port: 99, protocol: 'SCTP' },
    ],
  });
  const model = nftModelOf(stateOf([svc], [sl]));
  const go = (protocol: Packet['protocol'], dport: number) =>
    landsNft(model, { src: localPod(9), dst: '10.96.0.10', protocol, dport });
  t.deepEqual(go('udp', 53), [[`${remotePod(6)}:5353`, 1]]);
  t.deepEqual(go('tcp', 53), [[`${remotePod(6)}:5354`, 1]]);
  t.deepEqual(go('sctp', 9), [[`${remotePod(6)}:99`, 1]]);
});

test('clusterCIDR unset: no off-cluster masquerade rule, node ports still masquerade', (t) => {
  const svc = service('np', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
  const model = nftModelOf(stateOf([svc], [slice('np', [remotePod(6)])]), { masqueradeBit: 14 });
  const trace = (dst: string, port: number) =>
    traceNftPacket(model, tcp(offClusterClient, dst, port), 'forwarded', traceContext)[0]!;
  t.false(trace('10.96.0.10', 80).masqueraded);
  t.true(trace(thisNode.ip, 30080).masqueraded);
});
