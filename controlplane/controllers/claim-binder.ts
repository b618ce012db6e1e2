/**
 * The claim side of upstream's PersistentVolume controller, as a pure planner: one write per pass
 * (the next pass sees its result through the watch), in this order:
 *  1. protection: every live claim carries `kubernetes.io/pvc-protection`; a deleted claim loses
 *     it once no pod that may still run uses the claim;
 *  2. binding: a claim that names a volume is bound to it; otherwise to the volume promised to it
 *     or the smallest free one that fits (volume-matching.ts). The volume is bound first (its
 *     claimRef), then the claim (volumeName, bind-completed), then the claim's status (Bound, the
 *     volume's capacity and access modes). A WaitForFirstConsumer claim waits until the scheduler
 *     names a node (`volume.kubernetes.io/selected-node`); with no volume to bind, a class with a
 *     provisioner is asked for one (`volume.kubernetes.io/storage-provisioner`);
 *  3. a bound claim whose volume is gone is Lost;
 *  4. expansion: a bound claim asking for more than it has grows its volume, then its capacity
 *     (local volumes resize in place: a folder has no size of its own to change);
 *  5. a claim made without a class while the cluster had no default class gets the default class
 *     once there is one (upstream's retroactive default StorageClass assignment).
 */
import type { Node, Pod } from '../../kube/corev1.ts';
import {
  betaStorageProvisionerAnnotation,
  bindCompletedAnnotation,
  boundByControllerAnnotation,
  pvcProtectionFinalizer,
  selectedNodeAnnotation,
  storageProvisionerAnnotation,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type StorageClass,
} from '../../kube/storagev1.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Action, Plan } from './actions.ts';
import { defaultClassOf } from '../admission/default-storage-class.ts';
import {
  claimClassName,
  isPromisedTo,
  mismatch,
  requestedBytes,
  storageBytes,
  volumeForClaim,
  waitsForConsumer,
} from './volume-matching.ts';

interface ClaimWorld {
  readonly volumes: readonly PersistentVolume[];
  readonly classes: readonly StorageClass[];
  readonly nodes: readonly Node[];
  /** Pods of the claim's namespace. */
  readonly pods: readonly Pod[];
}

const asObject = (o: PersistentVolumeClaim | PersistentVolume): KubeObject => o as unknown as KubeObject;
const betaClassAnnotation = 'volume.beta.kubernetes.io/storage-class';

/** Whether a pod that may still run (or start) mounts the claim. */
function claimInUse(claim: PersistentVolumeClaim, pods: readonly Pod[]): boolean {
  return pods.some(
    (pod) =>
      pod.metadata.namespace === claim.metadata.namespace &&
      pod.status?.phase !== 'Succeeded' &&
      pod.status?.phase !== 'Failed' &&
      (pod.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim.metadata.name),
  );
}

function withFinalizers(claim: PersistentVolumeClaim, finalizers: string[]): PersistentVolumeClaim {
  return { ...claim, metadata: { ...claim.metadata, finalizers } };
}

function event(claim: PersistentVolumeClaim, type: 'Normal' | 'Warning', reason: string, message: string): Action {
  return {
    kind: 'event',
    object: { ...asObject(claim), apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
    type,
    reason,
    message,
  };
}

function updateClaim(claim: PersistentVolumeClaim): Action {
  return { kind: 'update', resource: 'persistentvolumeclaims', object: asObject(claim) };
}

function annotateClaim(
  claim: PersistentVolumeClaim,
  added: Record<string, string>,
  spec: PersistentVolumeClaim['spec'] = claim.spec,
): Action {
  return updateClaim({
    ...claim,
    metadata: { ...claim.metadata, annotations: { ...claim.metadata.annotations, ...added } },
    spec,
  });
}

function claimStatus(claim: PersistentVolumeClaim, status: NonNullable<PersistentVolumeClaim['status']>): Action[] {
  if (JSON.stringify(claim.status ?? {}) === JSON.stringify(status)) return [];
  return [{ kind: 'updateStatus', resource: 'persistentvolumeclaims', object: asObject({ ...claim, status }) }];
}

/** Promise the volume to the claim (claimRef with the claim's uid), as the binder does before the claim. */
function bindVolume(pv: PersistentVolume, claim: PersistentVolumeClaim, byController: boolean): Action {
  const annotations = { ...pv.metadata.annotations };
  if (byController) annotations[boundByControllerAnnotation] = 'yes';
  const bound: PersistentVolume = {
    ...pv,
    metadata: { ...pv.metadata, annotations },
    spec: {
      ...pv.spec,
      claimRef: {
        kind: 'PersistentVolumeClaim',
        namespace: claim.metadata.namespace ?? '',
        name: claim.metadata.name ?? '',
        uid: claim.metadata.uid ?? '',
        apiVersion: 'v1',
        resourceVersion: claim.metadata.resourceVersion ?? '',
      },
    },
  };
  return { kind: 'update', resource: 'persistentvolumes', object: asObject(bound) };
}

function planProtection(claim: PersistentVolumeClaim, pods: readonly Pod[]): Plan | undefined {
  const finalizers = claim.metadata.finalizers ?? [];
  if (claim.metadata.deletionTimestamp) {
    if (finalizers.includes(pvcProtectionFinalizer) && !claimInUse(claim, pods))
      return {
        actions: [
          updateClaim(
            withFinalizers(
              claim,
              finalizers.filter((f) => f !== pvcProtectionFinalizer),
            ),
          ),
        ],
      };
    return { actions: [] };
  }
  if (!finalizers.includes(pvcProtectionFinalizer))
    return { actions: [updateClaim(withFinalizers(claim, [...finalizers, pvcProtectionFinalizer]))] };
  return undefined;
}

/** The claim is bound to `pv` (both sides agree): finish the claim, then its status, then growth. */
function planBound(claim: PersistentVolumeClaim, pv: PersistentVolume, classes: readonly StorageClass[]): Plan {
  const annotations = claim.metadata.annotations ?? {};
  if (claim.spec.volumeName !== pv.metadata.name || annotations[bindCompletedAnnotation] !== 'yes') {
    const byController = claim.spec.volumeName !== pv.metadata.name;
    return {
      actions: [
        annotateClaim(
          claim,
          { [bindCompletedAnnotation]: 'yes', ...(byController ? { [boundByControllerAnnotation]: 'yes' } : {}) },
          { ...claim.spec, volumeName: pv.metadata.name! },
        ),
      ],
    };
  }
  const wanted = requestedBytes(claim);
  const has = storageBytes(pv.spec.capacity?.storage);
  const className = claimClassName(claim);
  const expandable = classes.find((c) => c.metadata.name === className)?.allowVolumeExpansion === true;
  if (expandable && wanted > has) {
    const grown: PersistentVolume = {
      ...pv,
      spec: { ...pv.spec, capacity: { ...pv.spec.capacity, storage: claim.spec.resources!.requests!.storage! } },
    };
    return {
      actions: [
        { kind: 'update', resource: 'persistentvolumes', object: asObject(grown) },
        event(claim, 'Normal', 'Resizing', `External resizer is resizing volume ${pv.metadata.name}`),
      ],
    };
  }
  const status: PersistentVolumeClaim['status'] = {
    ...claim.status,
    phase: 'Bound',
    accessModes: pv.spec.accessModes ?? [],
    capacity: { ...pv.spec.capacity },
  };
  const grew = claim.status?.capacity?.storage !== undefined && storageBytes(claim.status.capacity.storage) < has;
  return {
    actions: [
      ...claimStatus(claim, status),
      ...(grew
        ? [
            event(
              claim,
              'Normal',
              'FileSystemResizeSuccessful',
              `MountVolume.NodeExpandVolume succeeded for volume "${pv.metadata.name}"`,
            ),
          ]
        : []),
    ],
  };
}

export function planClaim(claim: PersistentVolumeClaim, world: ClaimWorld): Plan {
  const protection = planProtection(claim, world.pods);
  if (protection !== undefined) return protection;
  const byName = (name: string) => world.volumes.find((pv) => pv.metadata.name === name);

  if (claim.spec.volumeName) {
    const pv = byName(claim.spec.volumeName);
    if (pv === undefined) {
      if (claim.status?.phase === 'Bound' || claim.status?.phase === 'Lost')
        return {
          actions: [
            ...claimStatus(claim, { ...claim.status, phase: 'Lost' }),
            ...(claim.status?.phase === 'Bound'
              ? [
                  event(
                    claim,
                    'Warning',
                    'ClaimLost',
                    'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
                  ),
                ]
              : []),
          ],
        };
      return { actions: claimStatus(claim, { ...claim.status, phase: 'Pending' }) };
    }
    if (pv.spec.claimRef === undefined) {
      const problem = mismatch(pv, claim);
      if (problem !== undefined)
        return {
          actions: [
            event(
              claim,
              'Warning',
              'FailedBinding',
              `Cannot bind to requested volume "${pv.metadata.name}": ${problem}`,
            ),
          ],
        };
      return { actions: [bindVolume(pv, claim, false)] };
    }
    if (!isPromisedTo(pv, claim)) {
      if (claim.status?.phase === 'Bound')
        return {
          actions: [
            ...claimStatus(claim, { ...claim.status, phase: 'Lost' }),
            event(
              claim,
              'Warning',
              'ClaimMisbound',
              'Two claims are bound to the same volume, this one is bound incorrectly',
            ),
          ],
        };
      return {
        actions: [
          ...claimStatus(claim, { ...claim.status, phase: 'Pending' }),
          event(claim, 'Warning', 'FailedBinding', `volume "${pv.metadata.name}" already bound to a different claim.`),
        ],
      };
    }
    if (!pv.spec.claimRef.uid) return { actions: [bindVolume(pv, claim, false)] };
    return planBound(claim, pv, world.classes);
  }

  // No volume named yet.
  if (claim.spec.storageClassName == null && claim.metadata.annotations?.[betaClassAnnotation] === undefined) {
    const fallback = defaultClassOf(world.classes as unknown as KubeObject[]);
    if (fallback !== undefined)
      return {
        actions: [updateClaim({ ...claim, spec: { ...claim.spec, storageClassName: fallback.metadata.name! } })],
      };
  }
  const selected = claim.metadata.annotations?.[selectedNodeAnnotation];
  if (waitsForConsumer(claim, world.classes) && selected === undefined)
    return {
      actions: [
        ...claimStatus(claim, { ...claim.status, phase: 'Pending' }),
        event(claim, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding'),
      ],
    };
  const node = selected === undefined ? undefined : world.nodes.find((n) => n.metadata.name === selected);
  const pv = volumeForClaim(claim, world.volumes, node);
  if (pv !== undefined) {
    if (isPromisedTo(pv, claim) && pv.spec.claimRef?.uid) return planBound(claim, pv, world.classes);
    return { actions: [bindVolume(pv, claim, true)] };
  }
  const className = claimClassName(claim);
  const storageClass = world.classes.find((c) => c.metadata.name === className);
  if (className !== '' && storageClass === undefined)
    return {
      actions: [
        ...claimStatus(claim, { ...claim.status, phase: 'Pending' }),
        event(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`),
      ],
    };
  if (storageClass === undefined || storageClass.provisioner === 'kubernetes.io/no-provisioner')
    return {
      actions: [
        ...claimStatus(claim, { ...claim.status, phase: 'Pending' }),
        event(
          claim,
          'Normal',
          'FailedBinding',
          className === ''
            ? 'no persistent volumes available for this claim and no storage class is set'
            : 'no persistent volumes available for this claim',
        ),
      ],
    };
  const annotations = claim.metadata.annotations ?? {};
  if (annotations[storageProvisionerAnnotation] !== storageClass.provisioner) {
    return {
      actions: [
        annotateClaim(claim, {
          [storageProvisionerAnnotation]: storageClass.provisioner,
          [betaStorageProvisionerAnnotation]: storageClass.provisioner,
        }),
        event(
          claim,
          'Normal',
          'ExternalProvisioning',
          `Waiting for a volume to be created either by the external provisioner '${storageClass.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
        ),
      ],
    };
  }
  return { actions: claimStatus(claim, { ...claim.status, phase: 'Pending' }) };
}
