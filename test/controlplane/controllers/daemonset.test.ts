import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import {
  nodeEligibility,
  planDaemonSet,
  revisionHashLabel,
  targetNode,
} from '../../../controlplane/controllers/daemonset.ts';
import { templateHash } from '../../../controlplane/controllers/template-hash.ts';
import type { Action } from '../../../controlplane/controllers/actions.ts';
import type { DaemonSet } from '../../../controlplane/controllers/workload-types.ts';
import { node } from '../scheduler/fixtures.ts';
import { describe, now, ownerRef, pod } from './fixtures.ts';

function daemonSet(image = 'agent:1', extra: Partial<DaemonSet['spec']> = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', uid: 'uid-agent', generation: 1 },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image }] } },
      ...extra,
    },
  };
}

const mine = ownerRef('DaemonSet', 'agent');

function daemonPod(
  name: string,
  nodeName: string,
  image = 'agent:1',
  extra: { ready?: boolean; index?: number } = {},
): Pod {
  const p = pod(name, {
    owner: mine,
    node: nodeName,
    labels: { app: 'agent' },
    ready: extra.ready ?? true,
    index: extra.index ?? 0,
  });
  p.metadata.labels![revisionHashLabel] = templateHash(daemonSet(image).spec.template);
  return p;
}

function createdFor(actions: readonly Action[]): string[] {
  return actions.flatMap((a) => (a.kind === 'createPods' ? a.pods.map((p) => targetNode(p) ?? '?') : []));
}

test('one pod per eligible node, pinned by node affinity and carrying the daemon tolerations', (t) => {
  const nodes = [
    node('node-a'),
    node('node-b', { taints: [{ key: 'gpu', effect: 'NoSchedule' }] }),
    node('node-c', { ready: 'False' }),
  ];
  const plan = planDaemonSet(daemonSet(), nodes, [daemonPod('agent-a', 'node-a')], now);
  t.deepEqual(createdFor(plan.actions), ['node-c'], 'node-b has an untolerated taint; not-ready node-c still gets one');
  const created = plan.actions.find((a) => a.kind === 'createPods');
  const p = created?.kind === 'createPods' ? created.pods[0]! : undefined;
  t.deepEqual(p?.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, [
    { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-c'] }] },
  ]);
  t.true(p?.spec.tolerations?.some((x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute'));
});

test('nodeSelector limits the nodes; a node that stops matching loses its pod', (t) => {
  const ds = daemonSet('agent:1', {});
  ds.spec.template.spec.nodeSelector = { role: 'edge' };
  const nodes = [node('node-a', { labels: { role: 'edge' } }), node('node-b')];
  const plan = planDaemonSet(ds, nodes, [daemonPod('agent-b', 'node-b')], now);
  t.deepEqual(createdFor(plan.actions), ['node-a']);
  t.true(describe(plan.actions).includes('delete pods agent-b'));
});

test('eligibility: a NoSchedule taint keeps new pods out but lets a running one stay; NoExecute does not', (t) => {
  t.deepEqual(nodeEligibility(daemonSet(), node('n', { taints: [{ key: 'x', effect: 'NoSchedule' }] })), {
    shouldRun: false,
    mayStay: true,
  });
  t.deepEqual(nodeEligibility(daemonSet(), node('n', { taints: [{ key: 'x', effect: 'NoExecute' }] })), {
    shouldRun: false,
    mayStay: false,
  });
  t.deepEqual(nodeEligibility(daemonSet(), node('n', { unschedulable: true })), { shouldRun: true, mayStay: true });
});

test('an extra pod on a node goes, the oldest stays; a failed pod is replaced', (t) => {
  const plan = planDaemonSet(
    daemonSet(),
    [node('node-a')],
    [daemonPod('old', 'node-a', 'agent:1', { index: 1 }), daemonPod('new', 'node-a', 'agent:1', { index: 2 })],
    now,
  );
  t.deepEqual(
    describe(plan.actions).filter((a) => a.startsWith('delete')),
    ['delete pods new'],
  );
  const failed = daemonPod('broken', 'node-a');
  failed.status!.phase = 'Failed';
  t.deepEqual(describe(planDaemonSet(daemonSet(), [node('node-a')], [failed], now).actions).slice(0, 2), [
    'delete pods broken',
    'create 1 pod(s)',
  ]);
});

test('rolling update replaces at most maxUnavailable available old pods at a time', (t) => {
  const nodes = ['a', 'b', 'c'].map((n) => node(`node-${n}`));
  const old = ['a', 'b', 'c'].map((n) => daemonPod(`agent-${n}`, `node-${n}`, 'agent:1'));
  const plan = planDaemonSet(daemonSet('agent:2'), nodes, old, now);
  t.deepEqual(describe(plan.actions).filter((a) => a.startsWith('delete')).length, 1);
  const twoAtATime = planDaemonSet(
    daemonSet('agent:2', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } } }),
    nodes,
    old,
    now,
  );
  t.is(describe(twoAtATime.actions).filter((a) => a.startsWith('delete')).length, 2);
  const onDelete = planDaemonSet(daemonSet('agent:2', { updateStrategy: { type: 'OnDelete' } }), nodes, old, now);
  t.is(describe(onDelete.actions).filter((a) => a.startsWith('delete')).length, 0);
  // One node already lacks an available pod: the budget of 1 is used up, only unavailable old pods go.
  const withGap = planDaemonSet(
    daemonSet('agent:2'),
    nodes,
    [old[0]!, old[1]!, daemonPod('agent-c', 'node-c', 'agent:1', { ready: false })],
    now,
  );
  t.deepEqual(
    describe(withGap.actions).filter((a) => a.startsWith('delete')),
    ['delete pods agent-c'],
  );
});

test('status counts desired, scheduled, ready, available, updated and misscheduled nodes', (t) => {
  const nodes = [node('node-a'), node('node-b'), node('node-c', { taints: [{ key: 'x', effect: 'NoSchedule' }] })];
  const pods = [
    daemonPod('agent-a', 'node-a'),
    daemonPod('agent-b', 'node-b', 'agent:0', { ready: false }),
    daemonPod('agent-c', 'node-c'),
  ];
  const plan = planDaemonSet(daemonSet(), nodes, pods, now);
  t.false(describe(plan.actions).includes('delete pods agent-c'), 'a pod on a node that only became NoSchedule stays');
  const status = plan.actions.find((a) => a.kind === 'updateStatus');
  t.deepEqual(status?.kind === 'updateStatus' ? status.object.status : undefined, {
    desiredNumberScheduled: 2,
    currentNumberScheduled: 2,
    numberMisscheduled: 1,
    numberReady: 1,
    numberAvailable: 1,
    numberUnavailable: 1,
    updatedNumberScheduled: 1,
    observedGeneration: 1,
  });
});
