import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import { ClusterState } from '../../../controlplane/scheduler/cluster-state.ts';
import { decide, podContext } from '../../../controlplane/scheduler/schedule-pod.ts';
import { choosePreemption, mayPreempt } from '../../../controlplane/scheduler/preemption.ts';
import type { PodDisruptionBudget } from '../../../controlplane/controllers/disruption.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { Scheduler } from '../../../controlplane/scheduler/scheduler.ts';
import { startFakeKubelet } from '../controllers/fake-kubelet.ts';
import { waitFor } from '../../helpers/wait.ts';
import { node, pod } from './fixtures.ts';

const withPriority = (p: Pod, priority: number, extra: Partial<Pod['spec']> = {}): Pod => ({
  ...p,
  spec: { ...p.spec, priority, ...extra },
});

/** Nodes a, b, c of 4 CPUs, each full with pods of the given priorities (1 CPU each). */
function fullCluster(priorities: Record<string, number[]>): ClusterState {
  const state = new ClusterState();
  for (const [name, list] of Object.entries(priorities)) {
    state.setNode(node(name, { cpu: '4' }));
    list.forEach((priority, i) => {
      state.setPod(withPriority(pod(`${name}-${i}`, { cpu: '1', labels: { app: name } }), priority), name);
    });
  }
  return state;
}

function choose(state: ClusterState, preemptor: Pod, budgets: PodDisruptionBudget[] = []) {
  const decision = decide(preemptor, state);
  if (decision.kind !== 'unschedulable') throw new Error('the preemptor fits without preemption');
  return choosePreemption(podContext(preemptor, state), state, decision.refusals, budgets);
}

const names = (pods: readonly Pod[] | undefined) => pods?.map((p) => p.metadata.name);

test('picks the node where the fewest and least important pods make room', (t) => {
  const state = fullCluster({
    'node-a': [5, 5, 5, 5],
    'node-b': [1, 5, 5, 5],
    'node-c': [100, 100, 100, 100],
  });
  const one = choose(state, withPriority(pod('vip', { cpu: '1' }), 50));
  t.is(one?.node, 'node-b');
  t.deepEqual(names(one?.victims), ['node-b-0']);
  // two CPUs: two victims; node-b's lowest plus one of its 5s beats two 5s on node-a
  const two = choose(state, withPriority(pod('vip', { cpu: '2' }), 50));
  t.is(two?.node, 'node-b');
  t.is(two?.victims.length, 2);
  t.is(two?.victims.at(-1)?.metadata.name, 'node-b-0');
});

test('nothing of equal or higher priority is a victim; Never does not preempt', (t) => {
  const state = fullCluster({ 'node-a': [50, 50, 50, 50] });
  t.is(choose(state, withPriority(pod('equal', { cpu: '1' }), 50)), undefined);
  const low = fullCluster({ 'node-a': [0, 0, 0, 0] });
  t.is(choose(low, withPriority(pod('polite', { cpu: '1' }), 50, { preemptionPolicy: 'Never' })), undefined);
  t.truthy(choose(low, withPriority(pod('rude', { cpu: '1' }), 50)));
});

test('nodes whose refusal no departure cures are not candidates', (t) => {
  const state = fullCluster({ 'node-a': [0, 0, 0, 0] });
  state.setNode(node('node-a', { cpu: '4', taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] }));
  t.is(choose(state, withPriority(pod('vip', { cpu: '1' }), 50)), undefined);
});

test('a disruption budget steers victims to pods it does not guard', (t) => {
  const state = fullCluster({ 'node-a': [1, 1, 1, 1], 'node-b': [1, 1, 1, 1] });
  const guardA: PodDisruptionBudget = {
    metadata: { name: 'guard', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'node-a' } } },
    status: { disruptionsAllowed: 0, currentHealthy: 4, desiredHealthy: 4, expectedPods: 4 },
  };
  const choice = choose(state, withPriority(pod('vip', { cpu: '1' }), 50), [guardA]);
  t.is(choice?.node, 'node-b');
  t.is(choice?.budgetViolations, 0);
  // when every node is guarded, preemption still happens, with one violation
  const guardB = { ...guardA, spec: { selector: { matchLabels: {} } } };
  const forced = choose(state, withPriority(pod('vip', { cpu: '1' }), 50), [guardB]);
  t.is(forced?.budgetViolations, 1);
});

test('no second preemption while lower-priority pods on the nominated node are still going', (t) => {
  const state = fullCluster({ 'node-a': [0, 0, 0, 0] });
  const vip = withPriority(pod('vip', { cpu: '1' }), 50);
  t.true(mayPreempt(vip, state.nodeInfo('node-a')));
  const going = withPriority(pod('node-a-0', { cpu: '1', labels: { app: 'node-a' } }), 0);
  going.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  state.setPod(going, 'node-a');
  t.false(mayPreempt(vip, state.nodeInfo('node-a')));
});

test('the scheduler preempts: victims marked and deleted, the preemptor nominated, then bound', async (t) => {
  const cluster = new MemoryCluster();
  await cluster.create('nodes', node('node-a', { cpu: '2' }));
  await cluster.create('nodes', node('node-b', { cpu: '2' }));
  const kubelet = await startFakeKubelet(cluster);
  const scheduler = new Scheduler({ client: cluster, initialBackoffMs: 20, maxBackoffMs: 50, random: () => 0 });
  await scheduler.start();
  try {
    for (let i = 0; i < 4; i++) {
      const low = withPriority(pod(`low-${i}`, { cpu: '1' }), i === 3 ? 10 : 0);
      delete low.metadata.uid;
      delete low.status;
      await cluster.create('pods', low);
    }
    await waitFor(() => cluster.all('pods').every((p) => (p as Pod).spec.nodeName), {
      what: 'four low pods bound',
      timeoutMs: 5000,
    });
    // the fake kubelet writes a whole new status once the pod runs: watch for the nomination
    const nominations: string[] = [];
    const marked = new Set<string>();
    const listed = await cluster.list('pods');
    const watch = await cluster.watch(
      'pods',
      listed.resourceVersion,
      (event) => {
        const seen = (event.object as Pod).status?.nominatedNodeName;
        if (event.object.metadata.name === 'vip' && seen) nominations.push(seen);
        const target = (event.object as Pod).status?.conditions?.find((c) => c.type === 'DisruptionTarget');
        if (target?.reason === 'PreemptionByScheduler' && target.status === 'True')
          marked.add(event.object.metadata.name ?? '');
      },
      () => {},
    );
    t.teardown(() => watch.stop());
    const vip = withPriority(pod('vip', { cpu: '1' }), 1000);
    delete vip.metadata.uid;
    delete vip.status;
    await cluster.create('pods', vip);
    const bound = await waitFor(() => (cluster.peek('pods', 'default', 'vip') as Pod | undefined)?.spec.nodeName, {
      what: 'the preemptor bound',
      timeoutMs: 5000,
    });
    const left = cluster.all('pods').map((p) => p.metadata.name);
    t.is(left.length, 4, `one victim gone: ${left.join(', ')}`);
    t.true(left.includes('low-3'), 'the more important low pod stays');
    t.is(scheduler.stats.preemptions, 1);
    t.deepEqual([...new Set(nominations)], [bound]);
    t.is(marked.size, 1, 'the victim carried DisruptionTarget before it went');
    t.false(left.includes([...marked][0]!));
    const preempted = cluster.all('events').filter((e) => e.reason === 'Preempted');
    t.is(preempted.length, 1);
    t.regex(String(preempted[0]?.message), /^Preempted by pod .* on node node-[ab]$/);
  } finally {
    await scheduler.stop();
    kubelet.stop();
  }
});
