import test from 'ava';
import type { Lease } from '../../../kube/corev1.ts';
import { microTime } from '../../../kube/api-time.ts';
import { apiserverLeaseName, desiredApiserverLease } from '../../../controlplane/apiserver-leases/apiserver-lease.ts';
import { liveServers, parseEndpoint } from '../../../controlplane/apiserver-leases/live-servers.ts';
import { desiredEndpoints, desiredSlices } from '../../../controlplane/apiserver-leases/kubernetes-endpoints.ts';

const t0 = Date.parse('2026-12-07T10:00:00Z');
const identity = (advertiseAddress: string, port = 6443) => ({ hostname: 'cp-1', advertiseAddress, port });

function lease(address: string, renewedAt: number, resourceVersion: string, port = 6443): Lease {
  const built = desiredApiserverLease(undefined, identity(address, port), 15, renewedAt);
  return { ...built, metadata: { ...built.metadata, resourceVersion } };
}

test('a lease names the server by a stable hash and carries its endpoint and upstream label', (t) => {
  const built = desiredApiserverLease(undefined, identity('10.0.0.1'), 15, t0);
  t.is(built.metadata.name, apiserverLeaseName(identity('10.0.0.1')));
  t.regex(built.metadata.name!, /^apiserver-[0-9a-f]{16}$/);
  t.not(built.metadata.name, apiserverLeaseName(identity('10.0.0.2')));
  t.like(built, {
    metadata: {
      namespace: 'kube-system',
      labels: { 'apiserver.kubernetes.io/identity': 'kube-apiserver', 'kubernetes.io/hostname': 'cp-1' },
      annotations: { 'bosun.io/apiserver-endpoint': '10.0.0.1:6443' },
    },
    spec: { leaseDurationSeconds: 15, renewTime: microTime(t0) },
  });
});

test('alive while less than the lease duration passed since its renewal; a dead one leaves', (t) => {
  let seen = liveServers([lease('10.0.0.1', t0, '5'), lease('10.0.0.2', t0 - 60_000, '6')], new Map(), t0 + 1_000);
  t.deepEqual(
    seen.live.map((s) => s.address),
    ['10.0.0.1'],
    'a lease first seen long expired is dead',
  );
  seen = liveServers([lease('10.0.0.1', t0, '5')], seen.seen, t0 + 14_999);
  t.is(seen.live.length, 1);
  t.deepEqual(liveServers([lease('10.0.0.1', t0, '5')], seen.seen, t0 + 15_000).live, []);
});

test("a peer's clock cannot keep it listed or drop it: a renewal time that cannot be is replaced by when it was seen", (t) => {
  // its clock is an hour ahead: it just renewed, and it lasts 15 s from now, not an hour
  const ahead = liveServers([lease('10.0.0.1', t0 + 3_600_000, '1')], new Map(), t0);
  t.is(ahead.live.length, 1);
  t.deepEqual(liveServers([lease('10.0.0.1', t0 + 3_600_000, '1')], ahead.seen, t0 + 15_000).live, []);
  // its clock is an hour behind: seen to change, it is alive
  const first = liveServers([lease('10.0.0.2', t0 - 3_600_000, '1')], new Map(), t0);
  t.deepEqual(first.live, []);
  const changed = liveServers([lease('10.0.0.2', t0 - 3_599_000, '2')], first.seen, t0 + 1_000);
  t.deepEqual(
    changed.live.map((s) => s.address),
    ['10.0.0.2'],
  );
});

test('endpoints list the live servers sorted; servers on other ports get their own subset and slice', (t) => {
  const live = [
    { leaseName: 'b', address: '10.0.0.2', port: 6443 },
    { leaseName: 'a', address: '10.0.0.1', port: 6443 },
    { leaseName: 'c', address: '10.0.0.3', port: 7443 },
  ];
  t.deepEqual(desiredEndpoints(live).subsets, [
    { addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] },
    { addresses: [{ ip: '10.0.0.3' }], ports: [{ name: 'https', port: 7443, protocol: 'TCP' }] },
  ]);
  t.deepEqual(
    desiredSlices(live).map((s) => [s.metadata.name, (s.endpoints as any[]).map((e) => e.addresses[0])]),
    [
      ['kubernetes', ['10.0.0.1', '10.0.0.2']],
      ['kubernetes-7443', ['10.0.0.3']],
    ],
  );
});

test('only an IPv4 address and a port are read from a lease', (t) => {
  t.deepEqual(parseEndpoint('10.0.0.1:6443'), { address: '10.0.0.1', port: 6443 });
  for (const bad of ['10.0.0.1', '10.0.0.300:6443', '10.0.0.1:0', '10.0.0.1:70000', 'evil.example:443', 7, undefined])
    t.is(parseEndpoint(bad), undefined, String(bad));
});
