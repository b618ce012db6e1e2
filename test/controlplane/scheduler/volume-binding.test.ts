/**
 * The VolumeBinding filter: a pod follows its data (a claim bound to a node-local volume admits only
 * that node, even when that node is full), waits for unbound Immediate claims, and places a
 * WaitForFirstConsumer claim where a volume fits or its class can provision with room to spare.
 */
import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../../kube/storagev1.ts';
import { decide } from '../../../controlplane/scheduler/schedule-pod.ts';
import type { StorageView } from '../../../controlplane/scheduler/volume-binding.ts';
import { cluster, node, pod } from './fixtures.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { Scheduler } from '../../../controlplane/scheduler/scheduler.ts';
import { waitFor } from '../../helpers/wait.ts';

const first = () => 0;
const placement = (decision: ReturnType<typeof decide>): string =>
  decision.kind === 'bind' ? decision.node : `unschedulable: ${decision.message}`;

const pinnedTo = (nodeName: string) => ({
  required: {
    nodeSelectorTerms: [
      { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In' as const, values: [nodeName] }] },
    ],
  },
});

function volume(
  name: string,
  extra: Partial<PersistentVolume['spec']> = {},
  annotations?: Record<string, string>,
): PersistentVolume {
  return {
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' }, storageClassName: 'local-path', ...extra },
    status: { phase: 'Available' },
  };
}

function claim(
  name: string,
  extra: Partial<PersistentVolumeClaim['spec']> = {},
  deleting = false,
): PersistentVolumeClaim {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'local-path',
      ...extra,
    },
  };
}

const waitingClass: StorageClass = {
  metadata: { name: 'local-path' },
  provisioner: 'bosun.io/local-path',
  volumeBindingMode: 'WaitForFirstConsumer',
};
const immediateClass: StorageClass = {
  metadata: { name: 'fast' },
  provisioner: 'example.com/disk',
  volumeBindingMode: 'Immediate',
};

function storage(
  claims: PersistentVolumeClaim[],
  volumes: PersistentVolume[],
  classes = [waitingClass, immediateClass],
): StorageView {
  return {
    claim: (namespace, name) => claims.find((c) => c.metadata.namespace === namespace && c.metadata.name === name),
    volume: (name) => volumes.find((v) => v.metadata.name === name),
    volumes: () => volumes,
    classes: () => classes,
  };
}

function using(name: string, claimName: string, shape: Parameters<typeof pod>[1] = {}): Pod {
  const p = pod(name, shape);
  p.spec.volumes = [{ name: 'data', persistentVolumeClaim: { claimName } }];
  return p;
}

test('a pod whose claim is bound to a node-1 volume only fits node-1, and waits when node-1 is full', (t) => {
  const nodes = [node('node-1', { cpu: '1' }), node('node-2')];
  const view = storage([claim('data', { volumeName: 'pv-1' })], [volume('pv-1', { nodeAffinity: pinnedTo('node-1') })]);
  const state = cluster(nodes);
  state.storage = view;
  t.is(placement(decide(using('db', 'data'), state, { random: first })), 'node-1');
  const full = cluster(nodes, [pod('busy', { cpu: '1', nodeName: 'node-1' })]);
  full.storage = view;
  t.is(
    placement(decide(using('db', 'data', { cpu: '500m' }), full, { random: first })),
    'unschedulable: 0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had volume node affinity conflict.',
  );
});

test('a bound volume labelled with a zone only admits nodes of that zone (VolumeZone)', (t) => {
  const zone = (name: string, value: string) => node(name, { labels: { 'topology.kubernetes.io/zone': value } });
  const state = cluster([zone('node-a', 'east'), zone('node-b', 'west'), node('node-c')]);
  const zoned = volume('pv-z', {}, undefined);
  zoned.metadata.labels = { 'topology.kubernetes.io/zone': 'west__north' };
  state.storage = storage([claim('data', { volumeName: 'pv-z' })], [zoned]);
  t.is(placement(decide(using('db', 'data'), state, { random: first })), 'node-b');
  const nowhere = cluster([zone('node-a', 'east'), node('node-c')]);
  nowhere.storage = state.storage;
  t.is(
    placement(decide(using('db', 'data'), nowhere, { random: first })),
    'unschedulable: 0/2 nodes are available: 2 node(s) had no available volume zone.',
  );
});

test('missing, deleting and unbound Immediate claims make a pod unschedulable everywhere, in upstream words', (t) => {
  const state = cluster([node('node-1'), node('node-2')]);
  state.storage = storage([claim('going', {}, true), claim('later', { storageClassName: 'fast' })], []);
  t.is(
    placement(decide(using('a', 'nothing'), state)),
    'unschedulable: 0/2 nodes are available: persistentvolumeclaim "nothing" not found.',
  );
  t.is(
    placement(decide(using('b', 'going'), state)),
    'unschedulable: 0/2 nodes are available: persistentvolumeclaim "going" is being deleted.',
  );
  t.is(
    placement(decide(using('c', 'later'), state)),
    'unschedulable: 0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
  );
});

test('a WaitForFirstConsumer claim fits where a free volume admits the node, or where local-path has room', (t) => {
  const nodes = [node('node-1', { ephemeral: '10Gi' }), node('node-2', { ephemeral: '10Gi' })];
  const staticOnly = cluster(nodes);
  staticOnly.storage = storage(
    [claim('data', { storageClassName: 'manual' })],
    [volume('pv-2', { storageClassName: 'manual', nodeAffinity: pinnedTo('node-2') })],
    [{ ...waitingClass, metadata: { name: 'manual' }, provisioner: 'kubernetes.io/no-provisioner' }],
  );
  t.is(placement(decide(using('db', 'data'), staticOnly, { random: first })), 'node-2');

  // node-1 already holds 9.5Gi of local-path volumes: a 1Gi claim only fits node-2.
  const used = volume(
    'used',
    { capacity: { storage: '9.5Gi' }, nodeAffinity: pinnedTo('node-1') },
    { 'pv.kubernetes.io/provisioned-by': 'bosun.io/local-path' },
  );
  const provisioning = cluster(nodes);
  provisioning.storage = storage([claim('data')], [{ ...used, status: { phase: 'Bound' } }]);
  t.is(placement(decide(using('db', 'data'), provisioning, { random: first })), 'node-2');
  const huge = cluster(nodes);
  huge.storage = storage([claim('data', { resources: { requests: { storage: '50Gi' } } })], []);
  t.is(
    placement(decide(using('db', 'data'), huge, { random: first })),
    'unschedulable: 0/2 nodes are available: 2 node(s) did not have enough free storage.',
  );
});

test('the scheduler names its chosen node on the WaitForFirstConsumer claim and binds the pod once the claim is Bound', async (t) => {
  const cluster = new MemoryCluster();
  await cluster.create('nodes', node('node-1'));
  await cluster.create('storageclasses', waitingClass as unknown as KubeObject);
  await cluster.create('persistentvolumeclaims', claim('data') as unknown as KubeObject);
  const scheduler = new Scheduler({ client: cluster, random: first });
  await scheduler.start();
  t.teardown(() => scheduler.stop());
  const p = using('db', 'data');
  delete p.metadata.uid;
  delete p.spec.nodeName;
  delete p.status;
  await cluster.create('pods', p as unknown as KubeObject);
  const peekClaim = () => cluster.peek('persistentvolumeclaims', 'default', 'data') as unknown as PersistentVolumeClaim;
  await waitFor(() => peekClaim().metadata.annotations?.['volume.kubernetes.io/selected-node'], {
    what: 'the claim names node-1',
    timeoutMs: 5000,
  });
  t.is(peekClaim().metadata.annotations?.['volume.kubernetes.io/selected-node'], 'node-1');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is((cluster.peek('pods', 'default', 'db') as Pod).spec.nodeName, undefined, 'not bound before its claim');
  // the binder and the node's provisioner do their part
  const current = peekClaim() as unknown as KubeObject;
  await cluster.update('persistentvolumeclaims', {
    ...current,
    spec: { ...(current.spec as object), volumeName: 'pvc-1' },
  });
  await cluster.setStatus('persistentvolumeclaims', 'default', 'data', { phase: 'Bound' });
  await waitFor(() => (cluster.peek('pods', 'default', 'db') as Pod | undefined)?.spec.nodeName, {
    what: 'db bound',
    timeoutMs: 5000,
  });
  t.is((cluster.peek('pods', 'default', 'db') as Pod).spec.nodeName, 'node-1');
});
