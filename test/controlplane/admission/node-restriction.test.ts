/**
 * NodeRestriction's pure rules: which Node labels a node may touch, and what makes a pod a mirror
 * pod a node may create.
 */
import test from 'ava';
import {
  forbiddenNodeLabels,
  mirrorPodViolation,
  modifiedLabels,
  nodeRestriction,
} from '../../../controlplane/admission/node-restriction.ts';

const labels: Array<[string, boolean]> = [
  ['kubernetes.io/hostname', true],
  ['kubernetes.io/arch', true],
  ['kubernetes.io/os', true],
  ['beta.kubernetes.io/instance-type', true],
  ['failure-domain.beta.kubernetes.io/zone', true],
  ['topology.kubernetes.io/region', true],
  ['node.kubernetes.io/instance-type', true],
  ['node.kubernetes.io/anything', true],
  ['sub.node.kubernetes.io/anything', true],
  ['kubelet.kubernetes.io/anything', true],
  ['example.com/anything', true],
  ['plain', true],
  ['kubernetes.io/role', false],
  ['node-role.kubernetes.io/control-plane', false],
  ['topology.kubernetes.io/rack', false],
  ['k8s.io/x', false],
  ['example.k8s.io/x', false],
  ['node-restriction.kubernetes.io/pool', false],
  ['a.node-restriction.kubernetes.io/pool', false],
  ['notkubernetes.io/x', true],
];
for (const [key, allowed] of labels) {
  test(`label ${key} ${allowed ? 'may' : 'may not'} be set by a node`, (t) => {
    t.deepEqual(forbiddenNodeLabels([key]), allowed ? [] : [key]);
  });
}

test('modified labels: added, removed and changed keys', (t) => {
  t.deepEqual(modifiedLabels({ a: '1', b: '2', c: '3' }, { a: '1', b: 'x', d: '4' }).sort(), ['b', 'c', 'd']);
  t.deepEqual(modifiedLabels(undefined, undefined), []);
});

const owner = { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'u1', controller: true };
const mirror = (extra: { metadata?: object; spec?: object } = {}) => ({
  metadata: {
    name: 'm',
    annotations: { 'kubernetes.io/config.mirror': 'h' },
    ownerReferences: [owner],
    ...extra.metadata,
  },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }], ...extra.spec },
});

const pods: Array<[string, object, string | undefined]> = [
  ['a well-formed mirror pod', mirror(), undefined],
  [
    'no mirror annotation',
    { ...mirror(), metadata: { name: 'm', ownerReferences: [owner] } },
    'pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods',
  ],
  [
    'bound elsewhere',
    mirror({ spec: { nodeName: 'n2' } }),
    'node "n1" can only create pods with spec.nodeName set to itself',
  ],
  [
    'no owner',
    mirror({ metadata: { ownerReferences: [] } }),
    'node "n1" can only create pods with an owner reference set to itself',
  ],
  [
    'two owners',
    mirror({ metadata: { ownerReferences: [owner, owner] } }),
    'node "n1" can only create pods with a single owner reference set to itself',
  ],
  [
    'owned by another node',
    mirror({ metadata: { ownerReferences: [{ ...owner, name: 'n2' }] } }),
    'node "n1" can only create pods with an owner reference set to itself',
  ],
  [
    'not a controller owner',
    mirror({ metadata: { ownerReferences: [{ ...owner, controller: false }] } }),
    'node "n1" can only create pods with a controller owner reference set to itself',
  ],
  [
    'blocking owner deletion',
    mirror({ metadata: { ownerReferences: [{ ...owner, blockOwnerDeletion: true }] } }),
    'node "n1" must not set blockOwnerDeletion on an owner reference',
  ],
  [
    'another uid',
    mirror({ metadata: { ownerReferences: [{ ...owner, uid: 'u2' }] } }),
    'node n1 UID mismatch: expected u2 got u1',
  ],
  [
    'a service account',
    mirror({ spec: { serviceAccountName: 'default' } }),
    'node "n1" can not create pods that reference a service account',
  ],
  [
    'a secret volume',
    mirror({ spec: { volumes: [{ name: 'v', secret: { secretName: 's' } }] } }),
    'node "n1" can not create pods that reference secrets',
  ],
  [
    'a configmap in env',
    mirror({ spec: { containers: [{ name: 'c', image: 'i', envFrom: [{ configMapRef: { name: 'c' } }] }] } }),
    'node "n1" can not create pods that reference configmaps',
  ],
  [
    'a claim',
    mirror({ spec: { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'c' } }] } }),
    'node "n1" can not create pods that reference persistentvolumeclaims',
  ],
];
for (const [name, pod, why] of pods) {
  test(`mirror pod: ${name}`, (t) => {
    t.is(mirrorPodViolation('n1', pod, 'u1'), why);
  });
}

test('NodeRestriction answers a mirror pod with wrongly typed fields with 400, not a server error', async (t) => {
  const pod = {
    metadata: { name: 'm', annotations: { 'kubernetes.io/config.mirror': 'h' }, ownerReferences: [owner] },
    spec: { nodeName: 'n1', containers: 5 },
  };
  const request = {
    operation: 'CREATE' as const,
    info: { group: '', resource: 'pods' } as never,
    subresource: undefined,
    object: pod as never,
    old: undefined,
  };
  const error = await t.throwsAsync(
    nodeRestriction(request, { name: 'system:node:n1', groups: ['system:nodes'] }, { nodeUid: async () => 'u1' }),
  );
  t.is((error as { code?: number }).code, 400);
});

test('label bosun.io/lb-pool may not be set by a node: it would draw load-balancer traffic to it', (t) => {
  t.deepEqual(forbiddenNodeLabels(['bosun.io/lb-pool', 'bosun.io/other']), ['bosun.io/lb-pool']);
});
