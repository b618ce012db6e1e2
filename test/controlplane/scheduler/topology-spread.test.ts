import test from 'ava';
import type { Pod, TopologySpreadConstraint } from '../../../kube/corev1.ts';
import { decide } from '../../../controlplane/scheduler/schedule-pod.ts';
import { cluster, node, pod } from './fixtures.ts';

const first = () => 0;
const spread = (extra: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey: 'kubernetes.io/hostname',
  whenUnsatisfiable: 'DoNotSchedule',
  labelSelector: { matchLabels: { app: 'web' } },
  ...extra,
});
const incoming = (constraints: TopologySpreadConstraint[], labels = { app: 'web' }): Pod => {
  const p = pod('new', { labels });
  p.spec.topologySpreadConstraints = constraints;
  return p;
};
const placement = (d: ReturnType<typeof decide>) => (d.kind === 'bind' ? d.node : `unschedulable: ${d.message}`);

test('DoNotSchedule on hostname: the pod goes where the skew stays within maxSkew', (t) => {
  const nodes = [node('node-a'), node('node-b'), node('node-c')];
  const placed = [
    pod('w1', { labels: { app: 'web' }, nodeName: 'node-a' }),
    pod('w2', { labels: { app: 'web' }, nodeName: 'node-b' }),
    pod('other', { labels: { app: 'db' }, nodeName: 'node-c' }),
  ];
  // a and b have one web pod each, c none: only c keeps the skew at 1.
  t.is(placement(decide(incoming([spread()]), cluster(nodes, placed), { random: first })), 'node-c');
  // maxSkew 2 lets a (2 - 0 = 2) in again: the scores decide among a, b and c.
  t.not(
    placement(decide(incoming([spread({ maxSkew: 2 })]), cluster(nodes, placed), { random: first })).slice(0, 13),
    'unschedulable',
  );
});

test('a node without the topology key is refused; every node full gives the upstream message', (t) => {
  const nodes = [node('node-a', { labels: { zone: 'z1' } }), node('node-b')];
  const zoneSpread = spread({ topologyKey: 'zone' });
  t.is(placement(decide(incoming([zoneSpread]), cluster(nodes), { random: first })), 'node-a');
  t.is(
    placement(decide(incoming([zoneSpread]), cluster([node('node-b')]))),
    "unschedulable: 0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label).",
  );
  const one = [node('node-a'), node('node-b')];
  const placed = [
    pod('w1', { labels: { app: 'web' }, nodeName: 'node-a' }),
    pod('w2', { labels: { app: 'web' }, nodeName: 'node-a' }),
  ];
  // The pod's node selector leaves node-b out: only node-a is a domain, and itself the minimum.
  const pinned = incoming([spread()]);
  pinned.spec.nodeSelector = { 'kubernetes.io/hostname': 'node-a' };
  t.is(
    placement(decide(pinned, cluster(one, placed), { random: first })),
    'node-a',
    'nodeAffinityPolicy Honor: node-b is not a domain for this pod',
  );
  // Two web pods on each node and minDomains 3 with only 2 domains: the minimum counts as 0, so
  // either node would reach a skew of 3.
  const full = [
    ...placed,
    pod('w3', { labels: { app: 'web' }, nodeName: 'node-b' }),
    pod('w4', { labels: { app: 'web' }, nodeName: 'node-b' }),
  ];
  t.is(
    placement(decide(incoming([spread({ minDomains: 3 })]), cluster(one, full), { random: first })),
    "unschedulable: 0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints.",
  );
  t.is(
    placement(decide(incoming([spread()]), cluster(one, full), { random: first })).slice(0, 5),
    'node-',
    'without minDomains the two even nodes both fit',
  );
});

test('ScheduleAnyway constraints do not filter', (t) => {
  const nodes = [node('node-a'), node('node-b')];
  const placed = [
    pod('w1', { labels: { app: 'web' }, nodeName: 'node-a' }),
    pod('w2', { labels: { app: 'web' }, nodeName: 'node-a' }),
  ];
  const soft = incoming([spread({ whenUnsatisfiable: 'ScheduleAnyway' })]);
  soft.spec.nodeSelector = { 'kubernetes.io/hostname': 'node-a' };
  t.is(placement(decide(soft, cluster(nodes, placed), { random: first })), 'node-a');
});
