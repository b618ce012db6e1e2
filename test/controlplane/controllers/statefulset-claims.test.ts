/**
 * StatefulSet volume claim templates: claims <template>-<set>-<ordinal> made before their pod and
 * mounted by it, kept when pods go, and the retention policy (whenDeleted / whenScaled) carried out
 * through owner references and the garbage collector.
 */
import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import type { PersistentVolumeClaim } from '../../../kube/storagev1.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { planStatefulSet } from '../../../controlplane/controllers/statefulset.ts';
import type { StatefulSet } from '../../../controlplane/controllers/workload-types.ts';
import { ControllerManager } from '../../../controlplane/controllers/manager.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { statefulSetController } from '../../../controlplane/controllers/definitions.ts';
import { garbageCollectors } from '../../../controlplane/controllers/garbage-collector.ts';
import { waitFor } from '../../helpers/wait.ts';
import { now } from './fixtures.ts';

type Retention = { whenDeleted?: 'Retain' | 'Delete'; whenScaled?: 'Retain' | 'Delete' };

function statefulSet(replicas: number, retention?: Retention): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default', uid: 'uid-db', generation: 1 },
    spec: {
      replicas,
      serviceName: 'db',
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: {
          containers: [{ name: 'db', image: 'db:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [
            { name: 'data', emptyDir: {} },
            { name: 'scratch', emptyDir: {} },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: { tier: 'db' } },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...(retention ? { persistentVolumeClaimRetentionPolicy: retention } : {}),
    } as StatefulSet['spec'],
  };
}

test('each pod gets its claim <template>-<set>-<ordinal>, created first and mounted in place of the template volume', (t) => {
  const { actions } = planStatefulSet(statefulSet(2), [], now);
  const claims = actions.flatMap((a) =>
    a.kind === 'create' && a.resource === 'persistentvolumeclaims'
      ? [a.object as unknown as PersistentVolumeClaim]
      : [],
  );
  t.deepEqual(
    claims.map((c) => c.metadata.name),
    ['data-db-0', 'data-db-1'],
  );
  t.deepEqual(claims[0]!.metadata.labels, { tier: 'db', app: 'db' });
  t.is(claims[0]!.metadata.ownerReferences, undefined, 'Retain: nobody owns the claim');
  t.deepEqual(claims[0]!.spec.resources, { requests: { storage: '1Gi' } });
  const createAt = actions.findIndex((a) => a.kind === 'createPods');
  t.true(createAt > actions.findIndex((a) => a.kind === 'create'), 'claims before pods');
  const pods = (actions[createAt] as unknown as { pods: Pod[] }).pods;
  t.deepEqual(pods[1]!.spec.volumes, [
    { name: 'data', persistentVolumeClaim: { claimName: 'data-db-1' } },
    { name: 'scratch', emptyDir: {} },
  ]);
});

test('an existing claim is reused, and a claim being deleted holds its pod back', (t) => {
  const existing: PersistentVolumeClaim = {
    metadata: { name: 'data-db-0', namespace: 'default', uid: 'c0' },
    spec: {},
  };
  const going: PersistentVolumeClaim = {
    metadata: { name: 'data-db-1', namespace: 'default', uid: 'c1', deletionTimestamp: '2026-01-01T00:00:00Z' },
    spec: {},
  };
  const { actions } = planStatefulSet(statefulSet(2), [], now, [], [existing, going]);
  t.false(actions.some((a) => a.kind === 'create' && a.resource === 'persistentvolumeclaims'));
  const created = actions.flatMap((a) => (a.kind === 'createPods' ? a.pods.map((p) => p.metadata.name) : []));
  t.deepEqual(created, ['db-0']);
});

test('whenDeleted: Delete makes the set own the claims it creates', (t) => {
  const { actions } = planStatefulSet(statefulSet(1, { whenDeleted: 'Delete' }), [], now);
  const claim = actions.find((a) => a.kind === 'create' && a.resource === 'persistentvolumeclaims');
  t.like((claim as { object: KubeObject }).object.metadata.ownerReferences?.[0], {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    name: 'db',
    uid: 'uid-db',
  });
});

async function scenario(retention?: Retention) {
  const cluster = new MemoryCluster();
  const manager = new ControllerManager({
    client: cluster,
    controllers: [statefulSetController, ...garbageCollectors()],
  });
  await manager.start();
  const set = await cluster.create('statefulsets', statefulSet(2, retention) as KubeObject);
  const claimNames = async () =>
    (await cluster.list('persistentvolumeclaims')).items
      .filter((c) => !c.metadata.deletionTimestamp)
      .map((c) => c.metadata.name)
      .sort();
  const podNames = async () =>
    (await cluster.list('pods')).items
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.metadata.name)
      .sort();
  await waitFor(async () => (await podNames()).length === 2, { what: 'two pods', timeoutMs: 5000 });
  const scale = async (replicas: number) => {
    const current = await cluster.get('statefulsets', 'default', 'db');
    await cluster.update('statefulsets', { ...current, spec: { ...(current.spec as object), replicas } });
  };
  return { cluster, manager, set, claimNames, podNames, scale };
}

test('Retain (default): scaling down keeps the claim, scaling up mounts it again; deleting the set keeps claims', async (t) => {
  const { cluster, manager, claimNames, podNames, scale } = await scenario();
  t.teardown(() => manager.stop());
  t.deepEqual(await claimNames(), ['data-db-0', 'data-db-1']);
  await scale(1);
  await waitFor(async () => (await podNames()).join() === 'db-0', { what: 'db-1 gone', timeoutMs: 5000 });
  t.deepEqual(await claimNames(), ['data-db-0', 'data-db-1']);
  await scale(2);
  await waitFor(async () => (await podNames()).length === 2, { what: 'db-1 back', timeoutMs: 5000 });
  const back = (await cluster.get('pods', 'default', 'db-1')) as Pod;
  t.deepEqual(back.spec.volumes?.[0], { name: 'data', persistentVolumeClaim: { claimName: 'data-db-1' } });
  await cluster.delete('statefulsets', 'default', 'db');
  await waitFor(async () => (await podNames()).length === 0, { what: 'pods gone', timeoutMs: 5000 });
  t.deepEqual(await claimNames(), ['data-db-0', 'data-db-1']);
});

test('whenScaled: Delete removes the claim of a scaled-away pod; whenDeleted: Delete removes the rest with the set', async (t) => {
  const { cluster, manager, claimNames, podNames, scale } = await scenario({
    whenDeleted: 'Delete',
    whenScaled: 'Delete',
  });
  t.teardown(() => manager.stop());
  await scale(1);
  await waitFor(async () => (await claimNames()).join() === 'data-db-0', { what: 'data-db-1 gone', timeoutMs: 5000 });
  t.deepEqual(await podNames(), ['db-0']);
  await cluster.delete('statefulsets', 'default', 'db');
  await waitFor(async () => (await claimNames()).length === 0, {
    what: 'data-db-0 gone with the set',
    timeoutMs: 5000,
  });
});
