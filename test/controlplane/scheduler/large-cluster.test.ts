/**
 * In a large cluster the scheduler stops filtering once enough nodes fit (kube-scheduler's adaptive
 * percentageOfNodesToScore) and starts each decision after the nodes the last one looked at, so
 * every node gets its turn; below 100 nodes every node is evaluated, in name order.
 */
import test from 'ava';
import { decide, feasibleNodesToFind } from '../../../controlplane/scheduler/schedule-pod.ts';
import { cluster, node, pod } from './fixtures.ts';

const first = () => 0;
const names = (count: number) => Array.from({ length: count }, (_, i) => `node-${String(i).padStart(4, '0')}`);

test('how many fitting nodes are enough, as kube-scheduler counts them', (t) => {
  t.is(feasibleNodesToFind(50), 50, 'every node below 100');
  t.is(feasibleNodesToFind(100), 100, 'never fewer than 100');
  t.is(feasibleNodesToFind(1000), 420, '50 % less 8 points');
  t.is(feasibleNodesToFind(5000), 500, '10 %');
  t.is(feasibleNodesToFind(6000), 300, 'at least 5 %');
});

test('at 1,000 nodes a decision evaluates 420, and the next starts where it stopped', (t) => {
  const state = cluster(names(1000).map((n) => node(n)));
  const one = decide(pod('a'), state, { random: first, startIndex: 0 });
  if (one.kind !== 'bind') return t.fail(one.message);
  t.is(one.evaluated, 420);
  t.true(one.node < 'node-0420', `chosen among the first 420: ${one.node}`);
  const two = decide(pod('b'), state, { random: first, startIndex: 420 });
  if (two.kind !== 'bind') return t.fail(two.message);
  t.true(two.node >= 'node-0420' && two.node < 'node-0840', `chosen among the next 420: ${two.node}`);
  // the window wraps around the end of the list
  const three = decide(pod('c'), state, { random: first, startIndex: 840 });
  if (three.kind !== 'bind') return t.fail(three.message);
  t.true(three.node >= 'node-0840' || three.node < 'node-0260', `chosen in 840..999 or 0..259: ${three.node}`);
});

test('when few nodes fit, every node is evaluated and one that fits is found', (t) => {
  const all = names(1000);
  // only the last five have room for the pod
  const state = cluster(all.map((n, i) => node(n, i >= 995 ? {} : { cpu: '100m' })));
  const decision = decide(pod('big', { cpu: '1' }), state, { random: first, startIndex: 10 });
  if (decision.kind !== 'bind') return t.fail(decision.message);
  t.is(decision.evaluated, 1000);
  t.true(decision.node >= 'node-0995', decision.node);
  const none = decide(pod('huge', { cpu: '64' }), state, { random: first, startIndex: 10 });
  t.is(none.kind, 'unschedulable');
  if (none.kind === 'unschedulable') t.is(none.refusals.size, 1000, 'every node gave its reason');
});

test('below 100 nodes the start index changes nothing', (t) => {
  const state = cluster(names(40).map((n) => node(n)));
  const a = decide(pod('p'), state, { random: first, startIndex: 0 });
  const b = decide(pod('p'), state, { random: first, startIndex: 17 });
  t.deepEqual(a, b);
});
