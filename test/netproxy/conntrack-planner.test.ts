import test from 'ava';
import { ChangeTracker } from '../../netproxy/change-tracker.ts';
import { conntrackArgs, planConntrackCleanup } from '../../netproxy/conntrack-planner.ts';
import { remotePod, service, slice, thisNode } from './fixtures.ts';

const dnsService = () =>
  service('dns', {
    type: 'NodePort',
    ports: [
      { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
      { name: 'tcp', port: 53, protocol: 'TCP' },
    ],
  });
const dnsSlice = (ips: string[]) =>
  slice('dns', ips, {
    ports: [
      { name: 'dns', port: 5353, protocol: 'UDP' },
      { name: 'tcp', port: 5353, protocol: 'TCP' },
    ],
  });

function tracker() {
  const tr = new ChangeTracker(thisNode.name);
  tr.onServiceUpdate(undefined, dnsService());
  return tr;
}

test('replacing the only UDP endpoint deletes flows answered by the old one, per service address', (t) => {
  const tr = tracker();
  tr.onEndpointSliceUpdate(undefined, dnsSlice([remotePod(6)]));
  tr.commit();
  tr.onEndpointSliceUpdate(undefined, dnsSlice([remotePod(7)]));
  const plan = planConntrackCleanup(tr.commit().changes);
  t.deepEqual(plan.map(conntrackArgs), [
    ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--reply-src', remotePod(6)],
    ['-D', '-p', 'udp', '--orig-port-dst', '30053', '--reply-src', remotePod(6)],
  ]);
});

test('from no endpoints to some: refused flows are cleared; TCP ports need nothing', (t) => {
  const tr = tracker();
  tr.commit();
  tr.onEndpointSliceUpdate(undefined, dnsSlice([remotePod(6)]));
  t.deepEqual(planConntrackCleanup(tr.commit().changes).map(conntrackArgs), [
    ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53'],
    ['-D', '-p', 'udp', '--orig-port-dst', '30053'],
  ]);
});

test('adding an endpoint to a working service deletes nothing; scale to zero deletes the old ones', (t) => {
  const tr = tracker();
  tr.onEndpointSliceUpdate(undefined, dnsSlice([remotePod(6)]));
  tr.commit();
  tr.onEndpointSliceUpdate(undefined, dnsSlice([remotePod(6), remotePod(7)]));
  t.deepEqual(planConntrackCleanup(tr.commit().changes), []);
  tr.onEndpointSliceUpdate(undefined, dnsSlice([]));
  t.is(planConntrackCleanup(tr.commit().changes).filter((d) => d.replySrc !== undefined).length, 4);
});
