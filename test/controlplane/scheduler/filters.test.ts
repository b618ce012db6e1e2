import test from 'ava';
import type { Toleration } from '../../../kube/corev1.ts';
import { decide } from '../../../controlplane/scheduler/schedule-pod.ts';
import { podRequests } from '../../../controlplane/scheduler/resources.ts';
import { tolerates } from '../../../controlplane/scheduler/taints.ts';
import { requirementHolds } from '../../../controlplane/scheduler/node-affinity.ts';
import { cluster, node, pod, taint } from './fixtures.ts';

const first = () => 0;

function placement(decision: ReturnType<typeof decide>): string {
  return decision.kind === 'bind' ? decision.node : `unschedulable: ${decision.message}`;
}

// ---------------------------------------------------------------- tolerations

const gpu = taint('gpu', 'NoSchedule', 'yes');
const tolerationCases: [string, Toleration, boolean][] = [
  [
    'Equal with the same key, value and effect',
    { key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoSchedule' },
    true,
  ],
  ['Equal is the default operator', { key: 'gpu', value: 'yes', effect: 'NoSchedule' }, true],
  ['Equal with another value', { key: 'gpu', operator: 'Equal', value: 'no', effect: 'NoSchedule' }, false],
  ['Exists ignores the value', { key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }, true],
  ['an empty effect matches every effect', { key: 'gpu', operator: 'Exists' }, true],
  ['another effect does not match', { key: 'gpu', operator: 'Exists', effect: 'NoExecute' }, false],
  ['an empty key with Exists tolerates everything', { operator: 'Exists' }, true],
  ['an empty key with Equal tolerates nothing', { operator: 'Equal', value: 'yes' }, false],
  ['another key', { key: 'ssd', operator: 'Exists' }, false],
];
for (const [title, toleration, expected] of tolerationCases) {
  test(`toleration: ${title}`, (t) => t.is(tolerates(toleration, gpu), expected));
}

// ---------------------------------------------------------------- node affinity operators

const operatorCases: [string, Parameters<typeof requirementHolds>[0], string | undefined, boolean][] = [
  ['In, present and listed', { key: 'k', operator: 'In', values: ['a', 'b'] }, 'b', true],
  ['In, absent', { key: 'k', operator: 'In', values: ['a'] }, undefined, false],
  ['NotIn, listed', { key: 'k', operator: 'NotIn', values: ['a'] }, 'a', false],
  ['NotIn, absent label passes', { key: 'k', operator: 'NotIn', values: ['a'] }, undefined, true],
  ['Exists', { key: 'k', operator: 'Exists' }, '', true],
  ['DoesNotExist on a present label', { key: 'k', operator: 'DoesNotExist' }, 'x', false],
  ['Gt, larger', { key: 'k', operator: 'Gt', values: ['5'] }, '6', true],
  ['Gt, equal', { key: 'k', operator: 'Gt', values: ['5'] }, '5', false],
  ['Lt, smaller', { key: 'k', operator: 'Lt', values: ['5'] }, '4', true],
  ['Lt, not a number', { key: 'k', operator: 'Lt', values: ['5'] }, 'four', false],
  ['Gt, absent', { key: 'k', operator: 'Gt', values: ['5'] }, undefined, false],
];
for (const [title, requirement, value, expected] of operatorCases) {
  test(`node selector requirement: ${title}`, (t) => t.is(requirementHolds(requirement, value), expected));
}

test('required node affinity picks the only node whose labels match, and matchFields by name', (t) => {
  const nodes = [
    node('node-a', { labels: { zone: 'z1', cores: '4' } }),
    node('node-b', { labels: { zone: 'z2', cores: '16' } }),
    node('node-c'),
  ];
  const byLabel = pod('p', {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['8'] }] }],
        },
      },
    },
  });
  t.is(placement(decide(byLabel, cluster(nodes), { random: first })), 'node-b');
  const byName = pod('q', {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-c'] }] }],
        },
      },
    },
  });
  t.is(placement(decide(byName, cluster(nodes), { random: first })), 'node-c');
  const nowhere = pod('r', { nodeSelector: { zone: 'z9' } });
  t.is(
    placement(decide(nowhere, cluster(nodes))),
    "unschedulable: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
  );
});

test('terms are ORed and an empty term selects nothing', (t) => {
  const nodes = [node('node-a', { labels: { zone: 'z1' } }), node('node-b', { labels: { zone: 'z2' } })];
  const either = pod('p', {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{}, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2'] }] }],
        },
      },
    },
  });
  t.is(placement(decide(either, cluster(nodes))), 'node-b');
});

// ---------------------------------------------------------------- readiness, taints, unschedulable

test('the upstream example message: not-ready taint on one node, too little CPU on two', (t) => {
  const nodes = [node('node-a', { ready: 'False' }), node('node-b', { cpu: '1' }), node('node-c', { cpu: '1' })];
  const decision = decide(pod('big', { cpu: '2' }), cluster(nodes));
  t.is(
    placement(decision),
    'unschedulable: 0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient cpu.',
  );
});

test('a node without a Ready condition counts as not ready; Unknown counts as unreachable', (t) => {
  const nodes = [node('node-a', { ready: 'absent' }), node('node-b', { ready: 'Unknown' })];
  t.is(
    placement(decide(pod('p'), cluster(nodes))),
    'unschedulable: 0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.',
  );
});

test('NoSchedule and NoExecute taints keep pods away unless tolerated; PreferNoSchedule does not', (t) => {
  const nodes = [
    node('node-a', { taints: [taint('dedicated', 'NoSchedule', 'db')] }),
    node('node-b', { taints: [taint('evict', 'NoExecute')] }),
    node('node-c', { taints: [taint('soft', 'PreferNoSchedule')] }),
  ];
  t.is(placement(decide(pod('p'), cluster(nodes))), 'node-c');
  const tolerant = pod('q', {
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
  });
  const onlyA = cluster([nodes[0]!, nodes[1]!]);
  t.is(placement(decide(tolerant, onlyA)), 'node-a');
  t.is(
    placement(decide(pod('r'), onlyA)),
    'unschedulable: 0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) had untolerated taint {evict: }.',
  );
});

test('a cordoned node takes only pods that tolerate the unschedulable taint', (t) => {
  const state = cluster([node('node-a', { unschedulable: true })]);
  t.is(placement(decide(pod('p'), state)), 'unschedulable: 0/1 nodes are available: 1 node(s) were unschedulable.');
  const tolerant = pod('q', {
    tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
  });
  t.is(placement(decide(tolerant, state)), 'node-a');
});

test("no nodes at all gives the scheduler's own message", (t) => {
  t.is(placement(decide(pod('p'), cluster([]))), 'unschedulable: no nodes available to schedule pods');
});

// ---------------------------------------------------------------- resources

test('requests are checked against allocatable minus the pods already bound', (t) => {
  const nodes = [node('node-a', { cpu: '2', memory: '4Gi' }), node('node-b', { cpu: '2', memory: '4Gi' })];
  const bound = [pod('x', { nodeName: 'node-a', cpu: '1500m' }), pod('y', { nodeName: 'node-b', memory: '3Gi' })];
  t.is(
    placement(decide(pod('p', { cpu: '600m', memory: '2Gi' }), cluster(nodes, bound))),
    'unschedulable: 0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.',
  );
  t.is(
    placement(decide(pod('q', { cpu: '500m', memory: '1536Mi' }), cluster(nodes, bound))),
    'node-a',
    'exactly the remaining 500m fits',
  );
});

test('finished pods give their resources back', (t) => {
  const nodes = [node('node-a', { cpu: '1' })];
  const done = pod('x', { nodeName: 'node-a', cpu: '1', phase: 'Succeeded' });
  t.is(placement(decide(pod('p', { cpu: '1' }), cluster(nodes, [done]))), 'node-a');
});

test('the pods limit and ephemeral-storage are resources too, and one node can lack several', (t) => {
  const nodes = [node('node-a', { pods: '1' }), node('node-b', { ephemeral: '1Gi', cpu: '100m' })];
  const bound = [pod('x', { nodeName: 'node-a' })];
  t.is(
    placement(decide(pod('p', { ephemeral: '2Gi', cpu: '200m' }), cluster(nodes, bound))),
    'unschedulable: 0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient ephemeral-storage, 1 Too many pods.',
  );
});

test('init containers count at their peak, sidecars add up', (t) => {
  const requests = podRequests(
    pod('p', {
      containers: [{ name: 'app', resources: { requests: { cpu: '100m' } } }],
      initContainers: [
        { name: 'setup', resources: { requests: { cpu: '1' } } },
        { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '200m' } } },
        { name: 'late', resources: { requests: { cpu: '900m' } } },
      ],
    }),
  );
  // max(app 100m + sidecar 200m, setup 1000m, sidecar 200m + late 900m) = 1100m
  t.is(requests.get('cpu'), 1100);
});

// ---------------------------------------------------------------- host ports

test('a host port in use on a node keeps a second user away', (t) => {
  const nodes = [node('node-a'), node('node-b')];
  const bound = [
    pod('x', { nodeName: 'node-a', hostPorts: [8080] }),
    pod('y', { nodeName: 'node-b', hostPorts: [8080] }),
  ];
  t.is(
    placement(decide(pod('p', { hostPorts: [8080] }), cluster(nodes, bound))),
    "unschedulable: 0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.",
  );
  t.is(placement(decide(pod('q', { hostPorts: [9090] }), cluster(nodes, bound), { random: first })), 'node-a');
});

// ---------------------------------------------------------------- anti-affinity

const apartByHost = {
  podAntiAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' },
    ],
  },
};

test('required pod anti-affinity by hostname keeps replicas on separate nodes', (t) => {
  const nodes = [node('node-a'), node('node-b')];
  const bound = [pod('db-0', { nodeName: 'node-a', labels: { app: 'db' }, affinity: apartByHost })];
  t.is(
    placement(decide(pod('db-1', { labels: { app: 'db' }, affinity: apartByHost }), cluster(nodes, bound))),
    'node-b',
  );
  const full = [...bound, pod('db-1', { nodeName: 'node-b', labels: { app: 'db' }, affinity: apartByHost })];
  t.is(
    placement(decide(pod('db-2', { labels: { app: 'db' }, affinity: apartByHost }), cluster(nodes, full))),
    "unschedulable: 0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules.",
  );
});

test("a pod's own anti-affinity is honoured even when the placed pods have none", (t) => {
  const nodes = [node('node-a'), node('node-b')];
  const bound = [
    pod('db-0', { nodeName: 'node-a', labels: { app: 'db' } }),
    pod('db-1', { nodeName: 'node-b', labels: { app: 'db' } }),
  ];
  t.is(
    placement(decide(pod('other', { labels: { app: 'web' }, affinity: apartByHost }), cluster(nodes, bound))),
    "unschedulable: 0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.",
  );
  t.is(
    placement(decide(pod('plain', { labels: { app: 'db' } }), cluster(nodes, bound), { random: first })),
    'node-a',
    'without terms nothing is refused',
  );
});

test('anti-affinity looks only at the namespaces the term names', (t) => {
  const nodes = [node('node-a')];
  const bound = [pod('db-0', { nodeName: 'node-a', labels: { app: 'db' }, namespace: 'other' })];
  t.is(
    placement(decide(pod('db-1', { labels: { app: 'db' }, affinity: apartByHost }), cluster(nodes, bound))),
    'node-a',
  );
});

const nearCache = {
  podAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'topology.kubernetes.io/zone' },
    ],
  },
};

test('required pod affinity: only zones that run a matching pod', (t) => {
  const nodes = [
    node('node-a', { labels: { 'topology.kubernetes.io/zone': 'z1' } }),
    node('node-b', { labels: { 'topology.kubernetes.io/zone': 'z2' } }),
    node('node-c'),
  ];
  const bound = [pod('cache-0', { nodeName: 'node-b', labels: { app: 'cache' } })];
  t.is(placement(decide(pod('web', { labels: { app: 'web' }, affinity: nearCache }), cluster(nodes, bound))), 'node-b');
  t.is(
    placement(decide(pod('web', { labels: { app: 'web' }, affinity: nearCache }), cluster(nodes))),
    "unschedulable: 0/3 nodes are available: 3 node(s) didn't match pod affinity rules.",
    'no cache pod anywhere: nothing to be near',
  );
});

test('required pod affinity: the first pod of a group that selects itself may start it', (t) => {
  const nodes = [node('node-a', { labels: { 'topology.kubernetes.io/zone': 'z1' } }), node('node-c')];
  const first = pod('cache-0', { labels: { app: 'cache' }, affinity: nearCache });
  t.is(placement(decide(first, cluster(nodes))), 'node-a', 'only nodes with the topology label qualify');
});
