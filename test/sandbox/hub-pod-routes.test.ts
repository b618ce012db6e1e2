/**
 * The hub's routes to the pod network: each joined node's pod subnet via that node's address, and
 * nothing for a node the server has given no subnet yet.
 */
import test from 'ava';
import { hubPodRouteCommands } from '../../sandbox/hub-pod-routes.ts';

test('each pod subnet is routed to the node that owns it', (t) => {
  const nodes = [
    { name: 'node-1', ip: '172.30.0.11' },
    { name: 'node-2', ip: '172.30.1.12' },
    { name: 'node-3', ip: '172.30.0.13' },
  ];
  const subnets = new Map([
    ['node-1', '10.244.0.0/24'],
    ['node-2', '10.244.1.0/24'],
  ]);
  t.deepEqual(hubPodRouteCommands('s1-hub', nodes, subnets), [
    ['ip', '-n', 's1-hub', 'route', 'replace', '10.244.0.0/24', 'via', '172.30.0.11'],
    ['ip', '-n', 's1-hub', 'route', 'replace', '10.244.1.0/24', 'via', '172.30.1.12'],
  ]);
});

test('a pod subnet that is not a subnet never becomes a route: default, options, text', (t) => {
  const nodes = [
    { name: 'a', ip: '172.30.0.11' },
    { name: 'b', ip: '172.30.0.12' },
  ];
  for (const hostile of [
    'default',
    '0.0.0.0/0 dev lo',
    '10.244.0.0/24\nflush',
    '10.244.0.0/33',
    '../x',
    'x'.repeat(1 << 20),
  ])
    t.deepEqual(
      hubPodRouteCommands('s1-hub', nodes, new Map([['a', hostile]])),
      [],
      JSON.stringify(hostile.slice(0, 20)),
    );
  t.deepEqual(
    hubPodRouteCommands('s1-hub', [{ name: 'a', ip: '172.30.0.11 dev lo' }], new Map([['a', '10.244.0.0/24']])),
    [],
  );
});
