/**
 * The PersistentVolume controller (claim-binder.ts, volume-lifecycle.ts): planner tables for the
 * matching rules, then the two loops together on a MemoryCluster through a claim's whole life:
 * static binding, protection finalizers, Released / Failed on reclaim, WaitForFirstConsumer,
 * provisioning requests and expansion.
 */
import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../../kube/storagev1.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { planClaim } from '../../../controlplane/controllers/claim-binder.ts';
import { volumeForClaim } from '../../../controlplane/controllers/volume-matching.ts';
import { ControllerManager } from '../../../controlplane/controllers/manager.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { claimBinderController, volumeController } from '../../../controlplane/controllers/volume-controllers.ts';
import { waitFor } from '../../helpers/wait.ts';

const pv = (
  name: string,
  storage: string,
  extra: Partial<PersistentVolume['spec']> = {},
  labels?: Record<string, string>,
): PersistentVolume => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: {
    accessModes: ['ReadWriteOnce'],
    capacity: { storage },
    hostPath: { path: `/srv/${name}` },
    persistentVolumeReclaimPolicy: 'Retain',
    storageClassName: '',
    volumeMode: 'Filesystem',
    ...extra,
  },
});

const claim = (
  name: string,
  storage: string,
  extra: Partial<PersistentVolumeClaim['spec']> = {},
): PersistentVolumeClaim => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, finalizers: ['kubernetes.io/pvc-protection'] },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage } },
    storageClassName: '',
    volumeMode: 'Filesystem',
    ...extra,
  },
});

const storageClass = (name: string, extra: Partial<StorageClass> = {}): StorageClass => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name },
  provisioner: 'bosun.io/local-path',
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'Immediate',
  ...extra,
});

const world = { volumes: [] as PersistentVolume[], classes: [] as StorageClass[], nodes: [], pods: [] as Pod[] };

test('matching: the smallest volume that fits, same class and mode, every access mode, the selector', (t) => {
  const volumes = [
    pv('big', '10Gi'),
    pv('small', '1Gi'),
    pv('tiny', '500Mi'),
    pv('ro', '2Gi', { accessModes: ['ReadOnlyMany'] }),
    pv('fast', '2Gi', { storageClassName: 'fast' }),
    pv('block', '2Gi', { volumeMode: 'Block' }),
    pv('labelled', '5Gi', {}, { tier: 'gold' }),
  ];
  t.is(volumeForClaim(claim('c', '1Gi'), volumes)?.metadata.name, 'small');
  t.is(volumeForClaim(claim('c', '2Gi'), volumes)?.metadata.name, 'labelled');
  t.is(volumeForClaim(claim('c', '2Gi', { storageClassName: 'fast' }), volumes)?.metadata.name, 'fast');
  t.is(volumeForClaim(claim('c', '2Gi', { volumeMode: 'Block' }), volumes)?.metadata.name, 'block');
  t.is(
    volumeForClaim(claim('c', '1Gi', { selector: { matchLabels: { tier: 'gold' } } }), volumes)?.metadata.name,
    'labelled',
  );
  t.is(volumeForClaim(claim('c', '20Gi'), volumes), undefined);
  t.is(volumeForClaim(claim('c', '1Gi', { accessModes: ['ReadWriteMany'] }), volumes), undefined);
});

test('a claim is protected by its finalizer, which goes once no running pod uses the deleted claim', (t) => {
  const bare = claim('data', '1Gi');
  bare.metadata.finalizers = [];
  const [add] = planClaim(bare, world).actions;
  t.like(add, { kind: 'update', object: { metadata: { finalizers: ['kubernetes.io/pvc-protection'] } } });
  const deleting = claim('data', '1Gi');
  deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  const user: Pod = {
    metadata: { name: 'db-0', namespace: 'default' },
    spec: { containers: [], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] },
    status: { phase: 'Running' },
  };
  t.deepEqual(planClaim(deleting, { ...world, pods: [user] }).actions, [], 'kept while db-0 runs');
  const [release] = planClaim(deleting, { ...world, pods: [{ ...user, status: { phase: 'Succeeded' } }] }).actions;
  t.like(release, { kind: 'update', object: { metadata: { finalizers: [] } } });
});

test('a claim of a WaitForFirstConsumer class waits for the scheduler to pick a node', (t) => {
  const classes = [storageClass('local-path', { volumeBindingMode: 'WaitForFirstConsumer' })];
  const waiting = claim('data', '1Gi', { storageClassName: 'local-path' });
  const plan = planClaim(waiting, {
    ...world,
    classes,
    volumes: [pv('free', '1Gi', { storageClassName: 'local-path' })],
  });
  t.true(plan.actions.some((a) => a.kind === 'event' && a.reason === 'WaitForFirstConsumer'));
  t.false(plan.actions.some((a) => a.kind === 'update'));
  waiting.metadata.annotations = { 'volume.kubernetes.io/selected-node': 'node-1' };
  const [ask] = planClaim(waiting, { ...world, classes }).actions;
  t.like(ask, {
    kind: 'update',
    object: { metadata: { annotations: { 'volume.kubernetes.io/storage-provisioner': 'bosun.io/local-path' } } },
  });
});

test('a claim made without a class gets the default class once one exists (retroactive default)', (t) => {
  const classless = claim('data', '1Gi');
  delete classless.spec.storageClassName;
  t.deepEqual(
    planClaim(classless, world).actions.filter((a) => a.kind === 'update'),
    [],
    'no default class yet',
  );
  const defaultClass = storageClass('standard', {
    metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  });
  const [update] = planClaim(classless, { ...world, classes: [defaultClass] }).actions;
  t.like(update, { kind: 'update', object: { spec: { storageClassName: 'standard' } } });
  t.deepEqual(
    planClaim(claim('none', '1Gi'), { ...world, classes: [defaultClass] }).actions.filter((a) => a.kind === 'update'),
    [],
    'storageClassName "" asked for no class',
  );
});

async function running(cluster: MemoryCluster): Promise<ControllerManager> {
  const manager = new ControllerManager({ client: cluster, controllers: [claimBinderController, volumeController] });
  await manager.start();
  return manager;
}

async function get<T>(
  cluster: MemoryCluster,
  resource: 'persistentvolumes' | 'persistentvolumeclaims',
  name: string,
): Promise<T> {
  return (await cluster.get(resource, resource === 'persistentvolumes' ? undefined : 'default', name)) as unknown as T;
}

const obj = (o: unknown) => o as KubeObject;

test('static binding: both sides Bound with the volume capacity; deleting the claim Releases a Retain volume', async (t) => {
  const cluster = new MemoryCluster();
  const manager = await running(cluster);
  t.teardown(() => manager.stop());
  await cluster.create('persistentvolumes', obj(pv('keep', '2Gi')));
  const made = await cluster.create(
    'persistentvolumeclaims',
    obj({ ...claim('data', '1Gi'), metadata: { name: 'data', namespace: 'default' } }),
  );
  await waitFor(
    async () => (await get<PersistentVolumeClaim>(cluster, 'persistentvolumeclaims', 'data')).status?.phase === 'Bound',
    {
      what: 'the claim to be Bound',
      timeoutMs: 5000,
    },
  );
  const bound = await get<PersistentVolumeClaim>(cluster, 'persistentvolumeclaims', 'data');
  t.is(bound.spec.volumeName, 'keep');
  t.deepEqual(bound.status?.capacity, { storage: '2Gi' });
  t.deepEqual(bound.status?.accessModes, ['ReadWriteOnce']);
  t.is(bound.metadata.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
  t.deepEqual(bound.metadata.finalizers, ['kubernetes.io/pvc-protection']);
  await waitFor(
    async () => (await get<PersistentVolume>(cluster, 'persistentvolumes', 'keep')).status?.phase === 'Bound',
    {
      what: 'the volume to be Bound',
      timeoutMs: 5000,
    },
  );
  const volume = await get<PersistentVolume>(cluster, 'persistentvolumes', 'keep');
  t.is(volume.spec.claimRef?.uid, made.metadata.uid);
  t.deepEqual(volume.metadata.finalizers, ['kubernetes.io/pv-protection']);

  await cluster.delete('persistentvolumeclaims', 'default', 'data');
  await waitFor(
    async () => (await get<PersistentVolume>(cluster, 'persistentvolumes', 'keep')).status?.phase === 'Released',
    {
      what: 'the volume to be Released',
      timeoutMs: 5000,
    },
  );
  await t.throwsAsync(() => cluster.get('persistentvolumeclaims', 'default', 'data'));
  // A person deletes the Released volume: its protection goes, then the object.
  await cluster.delete('persistentvolumes', undefined, 'keep');
  await waitFor(async () => !(await cluster.list('persistentvolumes')).items.some((o) => o.metadata.name === 'keep'), {
    what: 'the volume to go',
    timeoutMs: 5000,
  });
});

test('a Delete volume nobody provisioned fails to be reclaimed, as upstream without a deleter plugin', async (t) => {
  const cluster = new MemoryCluster();
  const manager = await running(cluster);
  t.teardown(() => manager.stop());
  await cluster.create('persistentvolumes', obj(pv('scratch', '1Gi', { persistentVolumeReclaimPolicy: 'Delete' })));
  await cluster.create(
    'persistentvolumeclaims',
    obj({ ...claim('tmp', '1Gi'), metadata: { name: 'tmp', namespace: 'default' } }),
  );
  await waitFor(
    async () => (await get<PersistentVolume>(cluster, 'persistentvolumes', 'scratch')).status?.phase === 'Bound',
    {
      what: 'the volume to be Bound',
      timeoutMs: 5000,
    },
  );
  await cluster.delete('persistentvolumeclaims', 'default', 'tmp');
  await waitFor(
    async () => (await get<PersistentVolume>(cluster, 'persistentvolumes', 'scratch')).status?.phase === 'Failed',
    {
      what: 'the volume to be Failed',
      timeoutMs: 5000,
    },
  );
  t.is(
    (await get<PersistentVolume>(cluster, 'persistentvolumes', 'scratch')).status?.message,
    'error getting deleter volume plugin for volume "scratch": no deletable volume plugin matched',
  );
});

test('a claim naming its volume binds to it; a bound claim whose volume vanishes is Lost', async (t) => {
  const cluster = new MemoryCluster();
  const manager = await running(cluster);
  t.teardown(() => manager.stop());
  await cluster.create('persistentvolumes', obj(pv('small', '1Gi')));
  await cluster.create('persistentvolumes', obj(pv('chosen', '5Gi')));
  await cluster.create(
    'persistentvolumeclaims',
    obj({ ...claim('pick', '1Gi', { volumeName: 'chosen' }), metadata: { name: 'pick', namespace: 'default' } }),
  );
  await waitFor(
    async () => (await get<PersistentVolumeClaim>(cluster, 'persistentvolumeclaims', 'pick')).status?.phase === 'Bound',
    {
      what: 'the claim to be Bound',
      timeoutMs: 5000,
    },
  );
  t.is((await get<PersistentVolume>(cluster, 'persistentvolumes', 'chosen')).spec.claimRef?.name, 'pick');
  t.is((await get<PersistentVolume>(cluster, 'persistentvolumes', 'small')).spec.claimRef, undefined);
  // Forced away (finalizer removed by hand, as an operator might): the claim has lost its data.
  const chosen = await get<PersistentVolume>(cluster, 'persistentvolumes', 'chosen');
  await manager.stop();
  await cluster.update('persistentvolumes', obj({ ...chosen, metadata: { ...chosen.metadata, finalizers: [] } }));
  await cluster.delete('persistentvolumes', undefined, 'chosen');
  const again = await running(cluster);
  t.teardown(() => again.stop());
  await waitFor(
    async () => (await get<PersistentVolumeClaim>(cluster, 'persistentvolumeclaims', 'pick')).status?.phase === 'Lost',
    {
      what: 'the claim to be Lost',
      timeoutMs: 5000,
    },
  );
});

test('expansion: a bound claim of an expandable class grows its volume, then its capacity', async (t) => {
  const cluster = new MemoryCluster();
  const manager = await running(cluster);
  t.teardown(() => manager.stop());
  await cluster.create(
    'storageclasses',
    obj(storageClass('grow', { provisioner: 'kubernetes.io/no-provisioner', allowVolumeExpansion: true })),
  );
  await cluster.create('persistentvolumes', obj(pv('disk', '1Gi', { storageClassName: 'grow' })));
  await cluster.create(
    'persistentvolumeclaims',
    obj({ ...claim('data', '1Gi', { storageClassName: 'grow' }), metadata: { name: 'data', namespace: 'default' } }),
  );
  await waitFor(
    async () => (await get<PersistentVolumeClaim>(cluster, 'persistentvolumeclaims', 'data')).status?.phase === 'Bound',
    {
      what: 'the claim to be Bound',
      timeoutMs: 5000,
    },
  );
  const bound = await get<PersistentVolumeClaim>(cluster, 'persistentvolumeclaims', 'data');
  await cluster.update(
    'persistentvolumeclaims',
    obj({ ...bound, spec: { ...bound.spec, resources: { requests: { storage: '3Gi' } } } }),
  );
  await waitFor(
    async () =>
      (await get<PersistentVolumeClaim>(cluster, 'persistentvolumeclaims', 'data')).status?.capacity?.storage === '3Gi',
    { what: 'the claim capacity to grow', timeoutMs: 5000 },
  );
  t.is((await get<PersistentVolume>(cluster, 'persistentvolumes', 'disk')).spec.capacity?.storage, '3Gi');
});
