/**
 * The agent's side of persistent volumes, pure: resolving a pod's claim to a folder on this node
 * (refusals in the kubelet's words; nothing outside --local-path-root whatever the names), and the
 * local-path provisioner's plan (provision for claims sent here, reclaim Released Delete volumes).
 */
import test from 'ava';
import type { Pod } from '../../kube/corev1.ts';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../kube/storagev1.ts';
import { resolveClaimMount, type ClaimMountSettings } from '../../agent/pods/volumes/claim-mount.ts';
import { planLocalPath, localPathVolume } from '../../agent/storage/local-path-plan.ts';

const root = '/var/lib/bosun/storage';
const settings: ClaimMountSettings = {
  nodeName: 'node-1',
  localPathRoot: root,
  hostPathAllowed: (path) => (path.startsWith('/srv/') ? undefined : `hostPath ${path} is not allowed on this node`),
};

const pod: Pod = {
  metadata: { name: 'db-0', namespace: 'default', uid: 'pod-uid' },
  spec: { containers: [], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }] },
};
const volume = pod.spec.volumes![0]!;

const claim = (extra: Partial<PersistentVolumeClaim> = {}): PersistentVolumeClaim => ({
  metadata: { name: 'data-db-0', namespace: 'default', uid: 'claim-uid' },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '1Gi' } },
    storageClassName: 'local-path',
    volumeName: 'pvc-claim-uid',
  },
  status: { phase: 'Bound' },
  ...extra,
});

const localClass: StorageClass = {
  metadata: { name: 'local-path' },
  provisioner: 'bosun.io/local-path',
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'WaitForFirstConsumer',
};

const provisioned = (name = 'pvc-claim-uid', node = 'node-1'): PersistentVolume =>
  localPathVolume(
    claim({ metadata: { name: 'data-db-0', namespace: 'default', uid: name.slice(4) } }),
    localClass,
    node,
    `${root}/${name}`,
  );

function refusal(fn: () => unknown): string {
  try {
    fn();
    return 'resolved';
  } catch (err) {
    return (err as Error).message;
  }
}

test('a bound claim of a local-path volume mounts <root>/<pv name>; readOnly follows the pod', (t) => {
  const mount = resolveClaimMount(pod, volume, claim(), provisioned(), settings);
  t.like(mount, { path: `${root}/pvc-claim-uid`, readOnly: false, localPath: true, pvName: 'pvc-claim-uid' });
  const readOnly = { ...volume, persistentVolumeClaim: { claimName: 'data-db-0', readOnly: true } };
  t.true(resolveClaimMount(pod, readOnly, claim(), provisioned(), settings).readOnly);
});

test('claims that cannot be mounted are refused in the kubelet words', (t) => {
  t.is(
    refusal(() => resolveClaimMount(pod, volume, undefined, undefined, settings)),
    'error processing PVC default/data-db-0: failed to fetch PVC from API server: persistentvolumeclaims "data-db-0" not found',
  );
  t.is(
    refusal(() => resolveClaimMount(pod, volume, claim({ status: { phase: 'Pending' } }), provisioned(), settings)),
    'error processing PVC default/data-db-0: PVC is not bound',
  );
  t.is(
    refusal(() => resolveClaimMount(pod, volume, claim({ status: { phase: 'Lost' } }), provisioned(), settings)),
    'error processing PVC default/data-db-0: PVC is not bound',
  );
  const going = claim();
  going.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  t.is(
    refusal(() => resolveClaimMount(pod, volume, going, provisioned(), settings)),
    "error processing PVC default/data-db-0: can't start pod because PVC default/data-db-0 is being deleted",
  );
  t.is(
    refusal(() => resolveClaimMount(pod, volume, claim(), undefined, settings)),
    'error processing PVC default/data-db-0: failed to fetch PV "pvc-claim-uid" from API server: persistentvolumes "pvc-claim-uid" not found',
  );
  t.regex(
    refusal(() => resolveClaimMount(pod, volume, claim(), provisioned('pvc-claim-uid', 'node-2'), settings)),
    /does not admit node "node-1"/,
  );
});

test('nothing outside --local-path-root: a local-path PV naming another folder, or a hostile name, is refused', (t) => {
  const moved = provisioned();
  moved.spec.local = { path: '/etc' };
  t.regex(
    refusal(() => resolveClaimMount(pod, volume, claim(), moved, settings)),
    /names \/etc, not its folder/,
  );
  for (const name of ['..', '../etc', 'a/../../etc', '.']) {
    const hostile = provisioned();
    hostile.metadata.name = name;
    hostile.spec.local = { path: `${root}/${name}` };
    const bound = claim();
    bound.spec.volumeName = name;
    t.regex(
      refusal(() => resolveClaimMount(pod, volume, bound, hostile, settings)),
      /refusing persistent volume name/,
      name,
    );
  }
  // a PV made by a person: its path must be under the root or allowed as a hostPath on this node
  const manual: PersistentVolume = {
    metadata: { name: 'manual' },
    spec: { accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' }, hostPath: { path: '/etc/kubernetes' } },
  };
  const bound = claim();
  bound.spec.volumeName = 'manual';
  t.regex(
    refusal(() => resolveClaimMount(pod, volume, bound, manual, settings)),
    /hostPath \/etc\/kubernetes is not allowed/,
  );
  manual.spec.hostPath = { path: '/srv/data' };
  t.is(resolveClaimMount(pod, volume, bound, manual, settings).path, '/srv/data');
});

test('the provisioner makes a pinned volume for a claim sent to its node, and reclaims Released Delete volumes', (t) => {
  const waiting = claim({
    metadata: {
      name: 'data-db-0',
      namespace: 'default',
      uid: 'u1',
      annotations: {
        'volume.kubernetes.io/storage-provisioner': 'bosun.io/local-path',
        'volume.kubernetes.io/selected-node': 'node-1',
      },
    },
    status: { phase: 'Pending' },
  });
  delete waiting.spec.volumeName;
  const world = { nodeName: 'node-1', localPathRoot: root, claims: [waiting], volumes: [], classes: [localClass] };
  const [provision] = planLocalPath(world);
  t.is(provision?.kind, 'provision');
  const pv = (provision as { pv: PersistentVolume }).pv;
  t.is(pv.metadata.name, 'pvc-u1');
  t.deepEqual(pv.spec.local, { path: `${root}/pvc-u1` });
  t.like(pv.spec.claimRef, { name: 'data-db-0', namespace: 'default', uid: 'u1' });
  t.is(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
  t.deepEqual(pv.spec.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]?.values, ['node-1']);
  t.deepEqual(planLocalPath({ ...world, nodeName: 'node-2' }), [], 'another node makes nothing');
  t.deepEqual(planLocalPath({ ...world, volumes: [pv] }), [], 'made once');
  // the scheduler's choice is enough for a local-path class; another provisioner's claim is not ours
  const early = structuredClone(waiting);
  delete early.metadata.annotations!['volume.kubernetes.io/storage-provisioner'];
  t.is(planLocalPath({ ...world, claims: [early] })[0]?.kind, 'provision');
  const theirs = structuredClone(waiting);
  theirs.metadata.annotations!['volume.kubernetes.io/storage-provisioner'] = 'example.com/disk';
  t.deepEqual(planLocalPath({ ...world, claims: [theirs] }), []);

  const released = { ...pv, status: { phase: 'Released' as const } };
  t.deepEqual(
    planLocalPath({ ...world, claims: [], volumes: [released] }).map((a) => a.kind),
    ['reclaim'],
  );
  const retained = { ...released, spec: { ...released.spec, persistentVolumeReclaimPolicy: 'Retain' as const } };
  t.deepEqual(planLocalPath({ ...world, claims: [], volumes: [retained] }), []);
  t.deepEqual(planLocalPath({ ...world, nodeName: 'node-2', claims: [], volumes: [released] }), []);
  // whatever path the PV names, reclaim removes only <root>/<pv name>
  const tampered = { ...released, spec: { ...released.spec, local: { path: '/etc' } } };
  const [reclaim] = planLocalPath({ ...world, claims: [], volumes: [tampered] });
  t.is((reclaim as { folder: string }).folder, `${root}/pvc-u1`);
});
