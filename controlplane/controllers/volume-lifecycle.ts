/**
 * The volume side of upstream's PersistentVolume controller, as a pure planner (one write per pass):
 *  1. protection: every live PV carries `kubernetes.io/pv-protection`; a deleted PV loses it once it
 *     is no longer Bound;
 *  2. phase: Available without a claim (or only promised to one), Bound while its claim is there,
 *     Released once the claim it was bound to is gone;
 *  3. reclaim of a Released volume: Retain keeps it (and its data) until a person frees it;
 *     Delete hands it to the provisioner that made it (`pv.kubernetes.io/provisioned-by`: for
 *     bosun's local-path volumes the node that holds the folder removes it, then the PV), and fails
 *     a volume nobody provisioned, as upstream does with no deleter plugin; Recycle is not offered.
 */
import { apiTime } from '../../kube/api-time.ts';
import {
  boundByControllerAnnotation,
  provisionedByAnnotation,
  pvProtectionFinalizer,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type VolumePhase,
} from '../../kube/storagev1.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Action, Plan } from './actions.ts';

const asObject = (pv: PersistentVolume): KubeObject => pv as unknown as KubeObject;

function event(pv: PersistentVolume, type: 'Normal' | 'Warning', reason: string, message: string): Action {
  return {
    kind: 'event',
    object: { ...asObject(pv), apiVersion: 'v1', kind: 'PersistentVolume' },
    type,
    reason,
    message,
  };
}

function update(pv: PersistentVolume): Action {
  return { kind: 'update', resource: 'persistentvolumes', object: asObject(pv) };
}

function phaseChange(pv: PersistentVolume, phase: VolumePhase, now: Date, message?: string): Action[] {
  const current = pv.status ?? {};
  if (current.phase === phase && (message === undefined || current.message === message)) return [];
  const status: PersistentVolume['status'] = {
    phase,
    ...(message !== undefined ? { message } : {}),
    lastPhaseTransitionTime:
      current.phase === phase && current.lastPhaseTransitionTime ? current.lastPhaseTransitionTime : apiTime(now),
  };
  return [{ kind: 'updateStatus', resource: 'persistentvolumes', object: asObject({ ...pv, status }) }];
}

/** The claim the volume is bound to, when it still exists as that very claim. */
function boundClaim(pv: PersistentVolume, claims: readonly PersistentVolumeClaim[]): PersistentVolumeClaim | undefined {
  const ref = pv.spec.claimRef;
  if (ref === undefined) return undefined;
  return claims.find(
    (c) => c.metadata.namespace === ref.namespace && c.metadata.name === ref.name && c.metadata.uid === ref.uid,
  );
}

const deleterMissing = (name: string): string =>
  `error getting deleter volume plugin for volume "${name}": no deletable volume plugin matched`;

export function planVolume(pv: PersistentVolume, claims: readonly PersistentVolumeClaim[], now: Date): Plan {
  const finalizers = pv.metadata.finalizers ?? [];
  if (pv.metadata.deletionTimestamp) {
    if (finalizers.includes(pvProtectionFinalizer) && pv.status?.phase !== 'Bound')
      return {
        actions: [
          update({
            ...pv,
            metadata: { ...pv.metadata, finalizers: finalizers.filter((f) => f !== pvProtectionFinalizer) },
          }),
        ],
      };
  } else if (!finalizers.includes(pvProtectionFinalizer)) {
    return {
      actions: [update({ ...pv, metadata: { ...pv.metadata, finalizers: [...finalizers, pvProtectionFinalizer] } })],
    };
  }

  const ref = pv.spec.claimRef;
  if (ref === undefined || !ref.uid) return { actions: phaseChange(pv, 'Available', now) };
  const claim = boundClaim(pv, claims);
  if (claim !== undefined) {
    if (!claim.spec.volumeName || claim.spec.volumeName === pv.metadata.name)
      return { actions: phaseChange(pv, 'Bound', now) };
    // The claim went to another volume: this one was promised in vain.
    const { claimRef: _dropped, ...spec } = pv.spec;
    const annotations = { ...pv.metadata.annotations };
    delete annotations[boundByControllerAnnotation];
    return { actions: [update({ ...pv, metadata: { ...pv.metadata, annotations }, spec })] };
  }

  // Its claim is gone: Released, then reclaimed by policy.
  if (pv.status?.phase !== 'Released' && pv.status?.phase !== 'Failed')
    return { actions: phaseChange(pv, 'Released', now) };
  const policy = pv.spec.persistentVolumeReclaimPolicy ?? 'Retain';
  if (policy === 'Retain' || pv.status?.phase === 'Failed') return { actions: [] };
  if (policy === 'Delete') {
    // A provisioner deletes what it provisioned; nothing here can delete anything else.
    if (pv.metadata.annotations?.[provisionedByAnnotation]) return { actions: [] };
    const message = deleterMissing(pv.metadata.name ?? '');
    return {
      actions: [...phaseChange(pv, 'Failed', now, message), event(pv, 'Warning', 'VolumeFailedDelete', message)],
    };
  }
  const message = 'No recycler plugin found for the volume!';
  return {
    actions: [...phaseChange(pv, 'Failed', now, message), event(pv, 'Warning', 'VolumeFailedRecycle', message)],
  };
}
