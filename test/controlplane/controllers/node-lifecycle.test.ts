import test from 'ava';
import type { Lease, Node, Pod, Taint } from '../../../kube/corev1.ts';
import { assessNode, type NodeHealth } from '../../../controlplane/controllers/node-health.ts';
import { impliedTaints, reconcileTaints } from '../../../controlplane/controllers/node-taints.ts';
import { evictionTime, planTaintEvictions } from '../../../controlplane/controllers/taint-eviction.ts';
import { nextPodCidr } from '../../../controlplane/controllers/pod-cidr.ts';
import { nodeLifecycleController } from '../../../controlplane/controllers/node-lifecycle.ts';
import type { Caches } from '../../../controlplane/controllers/manager.ts';
import { at, describe, now, pod } from './fixtures.ts';

function node(ready: 'True' | 'False' | 'Unknown' | undefined, extra: Partial<Node> = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-a', creationTimestamp: at(0), resourceVersion: '3' },
    spec: {},
    status: {
      conditions: ready
        ? [{ type: 'Ready', status: ready, lastHeartbeatTime: at(10), lastTransitionTime: at(10) }]
        : [],
    },
    ...extra,
  };
}

function lease(renewSecond: number): Lease {
  return {
    metadata: { name: 'node-a', namespace: 'kube-node-lease' },
    spec: { holderIdentity: 'node-a', leaseDurationSeconds: 40, renewTime: at(renewSecond) },
  };
}

const ms = (seconds: number) => new Date(Date.parse(at(seconds)));

test('a renewing lease keeps the node healthy; 50 s of silence makes its conditions Unknown', (t) => {
  let health: NodeHealth | undefined;
  let result = assessNode(node('True'), lease(100), health, ms(100));
  health = result.health;
  t.is(result.statusUpdate, undefined);
  result = assessNode(node('True'), lease(140), health, ms(140));
  health = result.health;
  t.is(result.remainingMs, 50_000, 'a renewal restarts the grace period on the controller clock');
  result = assessNode(node('True'), lease(140), health, ms(189));
  t.is(result.statusUpdate, undefined, '49 s of silence is still fine');
  result = assessNode(node('True'), lease(140), result.health, ms(190));
  const conditions = result.statusUpdate?.status?.conditions ?? [];
  t.like(
    conditions.find((c) => c.type === 'Ready'),
    {
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      lastHeartbeatTime: at(10),
    },
  );
  t.deepEqual(
    conditions
      .filter((c) => c.status === 'Unknown')
      .map((c) => c.type)
      .sort(),
    ['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready'],
  );
});

test('a node that never posted status gets the 60 s startup grace from its creation', (t) => {
  t.is(assessNode(node(undefined), undefined, undefined, ms(59)).statusUpdate, undefined);
  const late = assessNode(node(undefined), undefined, undefined, ms(60));
  t.like(
    late.statusUpdate?.status?.conditions?.find((c) => c.type === 'Ready'),
    { status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.' },
  );
});

test('an already Unknown node is not written again', (t) => {
  const unknown = node('Unknown');
  unknown.status!.conditions!.push(
    ...['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({ type, status: 'Unknown' as const })),
  );
  const first = assessNode(unknown, undefined, { probedAt: 0, heartbeat: at(10), leaseRenew: undefined }, ms(500));
  t.is(first.statusUpdate, undefined);
});

const taintTable: [string, Node, string[]][] = [
  ['Ready', node('True'), []],
  ['NotReady', node('False'), ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute']],
  [
    'Unknown',
    node('Unknown'),
    ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute'],
  ],
  ['cordoned', node('True', { spec: { unschedulable: true } }), ['node.kubernetes.io/unschedulable:NoSchedule']],
];
for (const [title, n, expected] of taintTable) {
  test(`implied taints: ${title}`, (t) =>
    t.deepEqual(
      impliedTaints(n).map((x) => `${x.key}:${x.effect}`),
      expected,
    ));
}

test("reconciling taints adds NoExecute with timeAdded, removes stale managed ones, keeps users' taints", (t) => {
  const userTaint: Taint = { key: 'dedicated', value: 'db', effect: 'NoSchedule' };
  const stale: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: at(1) };
  const next = reconcileTaints(node('Unknown', { spec: { taints: [userTaint, stale] } }), now);
  t.deepEqual(next?.spec?.taints, [
    userTaint,
    { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-01-01T00:10:00Z' },
  ]);
  t.is(reconcileTaints(next!, now), undefined, 'already in line: nothing to write');
  t.is(reconcileTaints(node('True'), now), undefined);
});

const unreachable: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: at(0) };
function tolerating(name: string, seconds?: number): Pod {
  const p = pod(name, { node: 'node-a' });
  p.spec.tolerations = [
    {
      key: 'node.kubernetes.io/unreachable',
      operator: 'Exists',
      effect: 'NoExecute',
      ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}),
    },
  ];
  return p;
}

test('eviction time: untolerated now, limited toleration after its seconds, unlimited never', (t) => {
  const nowMs = Date.parse(at(100));
  t.is(evictionTime(pod('plain', { node: 'node-a' }), [unreachable], nowMs), 'now');
  t.is(evictionTime(tolerating('short', 60), [unreachable], nowMs), 'now', '60 s after the taint is before now');
  t.is(evictionTime(tolerating('long', 300), [unreachable], nowMs), Date.parse(at(300)));
  t.is(evictionTime(tolerating('forever'), [unreachable], nowMs), 'never');
  t.is(evictionTime(pod('plain'), [{ key: 'x', effect: 'NoSchedule' }], nowMs), 'never', 'only NoExecute evicts');
});

test('taint eviction plans deletions with an event and comes back for the next deadline', (t) => {
  const tainted = node('Unknown', { spec: { taints: [unreachable] } });
  const pods = [
    tolerating('short', 60),
    tolerating('long', 300),
    tolerating('forever'),
    pod('elsewhere', { node: 'node-b' }),
  ];
  const plan = planTaintEvictions(tainted, pods, ms(100));
  t.deepEqual(describe(plan.actions), ['event TaintManagerEviction', 'delete pods short']);
  t.is(plan.requeueAfterMs, 200_001);
});

test('pod CIDRs: lowest free /24 in the cluster CIDR, none when full', (t) => {
  t.is(nextPodCidr('10.244.0.0/16', 24, new Set()), '10.244.0.0/24');
  t.is(nextPodCidr('10.244.0.0/16', 24, new Set(['10.244.0.0/24', '10.244.2.0/24'])), '10.244.1.0/24');
  t.is(nextPodCidr('10.244.0.0/23', 24, new Set(['10.244.0.0/24', '10.244.1.0/24'])), undefined);
  t.throws(() => nextPodCidr('10.244.0.0/24', 16, new Set()));
});

test('when no node is Ready, NoExecute taints are not set and existing ones come off', (t) => {
  const evicting: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: at(1) };
  const next = reconcileTaints(node('Unknown', { spec: { taints: [evicting] } }), now, false);
  t.deepEqual(next?.spec?.taints, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]);
});

test('a tainted node reads its own pods from the pods-by-node index, never every pod', (t) => {
  const tainted = node('Unknown', {
    spec: { taints: [{ ...unreachable, timeAdded: at(0) }] },
  });
  const here = [pod('plain', { node: 'node-a' })];
  const caches: Caches = {
    get: (resource, key) => (resource === 'leases' && key === 'kube-node-lease/node-a' ? lease(0) : undefined),
    list: (resource) => {
      if (resource === 'pods') throw new Error('every pod was read');
      // another node is Ready: the taint stays (with none Ready, taints come off and nobody is evicted)
      return resource === 'nodes' ? [tainted, { ...node('True'), metadata: { name: 'node-b' } }] : [];
    },
    claimable: () => [],
    podsOn: (name) => (name === 'node-a' ? here : []),
  };
  const plan = nodeLifecycleController().plan(tainted, caches, ms(100));
  t.true(describe(plan.actions).includes('delete pods plain'), describe(plan.actions).join(', '));
});
