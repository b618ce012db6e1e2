import test from 'ava';
import { decide } from '../../../controlplane/scheduler/schedule-pod.ts';
import { defaultScorers, totalScores } from '../../../controlplane/scheduler/scores.ts';
import { cluster, node, pod, taint } from './fixtures.ts';

const first = () => 0;
const last = () => 0.999;

function chosen(decision: ReturnType<typeof decide>): string {
  if (decision.kind !== 'bind') throw new Error(decision.message);
  return decision.node;
}

function scorer(name: string) {
  const found = defaultScorers.find((s) => s.name === name);
  if (!found) throw new Error(`no scorer ${name}`);
  return found;
}

test('least allocated: the emptier node wins whatever the tie-breaker says', (t) => {
  const nodes = [node('node-a'), node('node-b')];
  const bound = [pod('x', { nodeName: 'node-a', cpu: '3', memory: '6Gi' })];
  t.is(chosen(decide(pod('p', { cpu: '100m', memory: '100Mi' }), cluster(nodes, bound), { random: first })), 'node-b');
  t.is(chosen(decide(pod('p', { cpu: '100m', memory: '100Mi' }), cluster(nodes, bound), { random: last })), 'node-b');
});

test('least allocated counts best-effort pods with default requests', (t) => {
  const state = cluster([node('node-a'), node('node-b')], [pod('x', { nodeName: 'node-a' })]);
  const scores = scorer('NodeResourcesFit').score(pod('p'), state.schedulableNodes());
  t.true(scores[1]! > scores[0]!, `node-b should score above node-a, got ${scores.join(', ')}`);
});

test('balanced allocation prefers the node where CPU and memory stay in proportion', (t) => {
  // node-a already has half its CPU used and no memory; node-b half of both.
  const nodes = [node('node-a', { cpu: '4', memory: '4Gi' }), node('node-b', { cpu: '4', memory: '4Gi' })];
  const bound = [
    pod('x', { nodeName: 'node-a', cpu: '2', memory: '1Mi' }),
    pod('y', { nodeName: 'node-b', cpu: '2', memory: '2Gi' }),
  ];
  const state = cluster(nodes, bound);
  const scores = scorer('NodeResourcesBalancedAllocation').score(
    pod('p', { cpu: '100m', memory: '100Mi' }),
    state.schedulableNodes(),
  );
  t.true(scores[1]! > scores[0]!, `got ${scores.join(', ')}`);
});

test('preferred node affinity: the heavier matching preference wins, normalised to 100', (t) => {
  const nodes = [
    node('node-a', { labels: { disk: 'hdd' } }),
    node('node-b', { labels: { disk: 'ssd' } }),
    node('node-c'),
  ];
  const p = pod('p', {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['hdd'] }] } },
          { weight: 80, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
        ],
      },
    },
  });
  const state = cluster(nodes);
  t.deepEqual(scorer('NodeAffinity').score(p, state.schedulableNodes()), [12, 100, 0]);
  t.is(chosen(decide(p, state, { random: last })), 'node-b');
});

test('PreferNoSchedule: untolerated soft taints push pods elsewhere, a toleration removes the push', (t) => {
  const nodes = [node('node-a', { taints: [taint('soft', 'PreferNoSchedule')] }), node('node-b')];
  const state = cluster(nodes);
  t.is(chosen(decide(pod('p'), state, { random: first })), 'node-b');
  const tolerant = pod('q', { tolerations: [{ key: 'soft', operator: 'Exists', effect: 'PreferNoSchedule' }] });
  t.deepEqual(scorer('TaintToleration').score(tolerant, state.schedulableNodes()), [100, 100]);
});

test('pods of one owner spread over nodes', (t) => {
  const nodes = [node('node-a'), node('node-b'), node('node-c')];
  const state = cluster(nodes);
  const placed: string[] = [];
  for (let i = 0; i < 6; i++) {
    const p = pod(`web-${i}`, { owner: 'web', cpu: '10m', memory: '10Mi' });
    const where = chosen(decide(p, state, { random: first }));
    placed.push(where);
    state.setPod(p, where);
  }
  const perNode = ['node-a', 'node-b', 'node-c'].map((n) => placed.filter((p) => p === n).length);
  t.deepEqual(perNode, [2, 2, 2]);
});

test('a pod without an owner is not affected by spreading, and totals are weighted sums', (t) => {
  const state = cluster([node('node-a'), node('node-b')]);
  t.deepEqual(scorer('SelectorSpread').score(pod('p'), state.schedulableNodes()), [100, 100]);
  const onlySpread = [{ ...scorer('SelectorSpread') }];
  t.deepEqual(totalScores(pod('p'), state.schedulableNodes(), onlySpread), [200, 200]);
});

test('spreading also counts zones: a node in an empty zone beats an empty node in a busy zone', (t) => {
  const zone = (z: string) => ({ labels: { 'topology.kubernetes.io/zone': z } });
  const state = cluster(
    [node('node-a', zone('z1')), node('node-b', zone('z1')), node('node-c', zone('z2'))],
    [pod('web-0', { nodeName: 'node-a', owner: 'web' })],
  );
  t.deepEqual(scorer('SelectorSpread').score(pod('web-1', { owner: 'web' }), state.schedulableNodes()), [0, 33, 100]);
});
