import test from 'ava';
import { ChangeTracker } from '../../netproxy/change-tracker.ts';
import { localPod, remotePod, service, slice, thisNode } from './fixtures.ts';

test('a new service with its slice is one change with previous empty', (t) => {
  const tr = new ChangeTracker(thisNode.name);
  tr.onServiceUpdate(undefined, service('web'));
  tr.onEndpointSliceUpdate(undefined, slice('web', [localPod(5), remotePod(6)]));
  const { changes, state } = tr.commit();
  t.is(changes.length, 1);
  t.deepEqual(changes[0]!.previous, []);
  const port = state.get('default/web:http/tcp')!;
  t.deepEqual(
    port.endpoints.map((e) => [e.ip, e.port, e.local]),
    [
      [localPod(5), 8080, true],
      [remotePod(6), 8080, false],
    ],
  );
});

test('no-op updates are dropped: same content, ignored fields, and a change undone before commit', (t) => {
  const tr = new ChangeTracker(thisNode.name);
  tr.onServiceUpdate(undefined, service('web'));
  tr.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6)]));
  tr.commit();
  const relabelled = service('web');
  relabelled.metadata.resourceVersion = '99';
  tr.onServiceUpdate(service('web'), relabelled);
  t.deepEqual(tr.commit().changes, []);
  tr.onEndpointSliceUpdate(undefined, slice('web', [remotePod(7)]));
  tr.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6)]));
  t.deepEqual(tr.commit().changes, []);
});

test('previous is what the last commit used, across several updates', (t) => {
  const tr = new ChangeTracker(thisNode.name);
  tr.onServiceUpdate(undefined, service('web'));
  tr.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6)]));
  tr.commit();
  tr.onEndpointSliceUpdate(undefined, slice('web', [remotePod(7)]));
  tr.onEndpointSliceUpdate(undefined, slice('web', [remotePod(8)]));
  const [change] = tr.commit().changes;
  t.deepEqual(
    change!.previous[0]!.endpoints.map((e) => e.ip),
    [remotePod(6)],
  );
  t.deepEqual(
    change!.current[0]!.endpoints.map((e) => e.ip),
    [remotePod(8)],
  );
});

test('deleting the service removes its ports; slices of several names merge and dedupe', (t) => {
  const tr = new ChangeTracker(thisNode.name);
  tr.onServiceUpdate(undefined, service('web'));
  tr.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6), { ip: remotePod(7), ready: false }], { name: 'a' }));
  tr.onEndpointSliceUpdate(undefined, slice('web', [remotePod(7)], { name: 'b' }));
  const port = tr.commit().state.get('default/web:http/tcp')!;
  t.deepEqual(
    port.endpoints.map((e) => [e.ip, e.ready]),
    [
      [remotePod(6), true],
      [remotePod(7), true],
    ],
  );
  tr.onServiceUpdate(service('web'), undefined);
  const { changes, state } = tr.commit();
  t.deepEqual(changes[0]!.current, []);
  t.is(state.size, 0);
});

test('headless and ExternalName services and IPv6 slices are not programmed', (t) => {
  const tr = new ChangeTracker(thisNode.name);
  tr.onServiceUpdate(undefined, service('headless', { clusterIP: 'None' }));
  const ext = service('ext');
  ext.spec.type = 'ExternalName';
  tr.onServiceUpdate(undefined, ext);
  tr.onServiceUpdate(undefined, service('v6'));
  const v6 = slice('v6', [remotePod(6)]);
  v6.addressType = 'IPv6';
  tr.onEndpointSliceUpdate(undefined, v6);
  const { state } = tr.commit();
  t.deepEqual([...state.keys()], ['default/v6:http/tcp']);
  t.deepEqual(state.get('default/v6:http/tcp')!.endpoints, []);
});

test('a slice relabelled to another service moves its endpoints', (t) => {
  const tr = new ChangeTracker(thisNode.name);
  tr.onServiceUpdate(undefined, service('a', { clusterIP: '10.96.0.1' }));
  tr.onServiceUpdate(undefined, service('b', { clusterIP: '10.96.0.2' }));
  const s = slice('a', [remotePod(6)], { name: 'moving' });
  tr.onEndpointSliceUpdate(undefined, s);
  tr.commit();
  const moved = slice('b', [remotePod(6)], { name: 'moving' });
  tr.onEndpointSliceUpdate(s, moved);
  const { changes, state } = tr.commit();
  t.deepEqual(
    changes.map((c) => c.service),
    ['default/a', 'default/b'],
  );
  t.is(state.get('default/a:http/tcp')!.endpoints.length, 0);
  t.is(state.get('default/b:http/tcp')!.endpoints.length, 1);
});

test("only this node's Node object counts, and only a real change", (t) => {
  const tr = new ChangeTracker(thisNode.name);
  const node = {
    metadata: { name: thisNode.name },
    status: { addresses: [{ type: 'InternalIP' as const, address: thisNode.ip }] },
  };
  tr.onNodeUpdate(undefined, { metadata: { name: 'other' } });
  t.false(tr.hasPending());
  tr.onNodeUpdate(undefined, node);
  t.true(tr.commit().nodeChanged);
  tr.onNodeUpdate(node, structuredClone(node));
  t.false(tr.hasPending());
});

test('affinity timeout defaults to the API default; Local policy only with an external entry', (t) => {
  const tr = new ChangeTracker(thisNode.name);
  const s = service('s');
  s.spec.sessionAffinity = 'ClientIP';
  s.spec.externalTrafficPolicy = 'Local';
  tr.onServiceUpdate(undefined, s);
  const port = tr.commit().state.get('default/s:http/tcp')!;
  t.is(port.affinitySeconds, 10800);
  t.false(port.externalPolicyLocal);
});

test('a Proxy-mode load-balancer address is taken only by the node it belongs to', (t) => {
  const tr = new ChangeTracker(thisNode.name);
  const svc = service('lb', { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30085 }] });
  svc.status = {
    loadBalancer: {
      ingress: [
        { ip: thisNode.ip, ipMode: 'Proxy' },
        { ip: '172.30.0.12', ipMode: 'Proxy' },
        { ip: '192.0.2.30', ipMode: 'VIP' },
      ],
    },
  };
  tr.onServiceUpdate(undefined, svc);
  tr.onEndpointSliceUpdate(undefined, slice('lb', [remotePod(6)]));
  // before the Node is known, no address counts as this node's
  t.deepEqual([...tr.commit().state.values()][0]?.loadBalancerIPs, ['192.0.2.30']);
  tr.onNodeUpdate(undefined, {
    metadata: { name: thisNode.name },
    status: { addresses: [{ type: 'InternalIP', address: thisNode.ip }] },
  });
  t.deepEqual([...tr.commit().state.values()][0]?.loadBalancerIPs, [thisNode.ip, '192.0.2.30']);
});
