/**
 * The PersistentVolume controller as two ControllerSpecs: one keyed by claim (binding, protection,
 * expansion: claim-binder.ts) and one keyed by volume (phase, protection, reclaim:
 * volume-lifecycle.ts). A change of either side wakes the other.
 */
import type { Node, Pod } from '../../kube/corev1.ts';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../kube/storagev1.ts';
import type { KubeObject } from '../../kube/types.ts';
import { planClaim } from './claim-binder.ts';
import { objectKey } from './client.ts';
import type { Caches, ControllerSpec } from './manager.ts';
import { planVolume } from './volume-lifecycle.ts';

const claimKey = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

/**
 * Claims a volume change may matter to: the one it names; and, only when the volume is free (it
 * could serve any claim), every claim still without a volume. A provisioned volume arrives already
 * promised, so a burst of provisioning wakes each claim once, not every waiting claim each time.
 */
function claimsFor(pv: KubeObject, caches: Caches): string[] {
  const ref = (pv as unknown as PersistentVolume).spec?.claimRef;
  if (ref?.name) return [claimKey(ref.namespace, ref.name)];
  return waitingClaims(caches);
}

function waitingClaims(caches: Caches): string[] {
  return (caches.list('persistentvolumeclaims') as unknown as PersistentVolumeClaim[])
    .filter((c) => !c.spec.volumeName)
    .map((c) => objectKey(c as unknown as KubeObject));
}

/** Volumes a claim change may matter to: the one it names and those promised to it. */
function volumesFor(claim: KubeObject, caches: Caches): string[] {
  const c = claim as unknown as PersistentVolumeClaim;
  const promised = (caches.list('persistentvolumes') as unknown as PersistentVolume[])
    .filter((pv) => pv.spec.claimRef?.namespace === c.metadata.namespace && pv.spec.claimRef?.name === c.metadata.name)
    .map((pv) => pv.metadata.name ?? '');
  return c.spec?.volumeName ? [c.spec.volumeName, ...promised] : promised;
}

export const claimBinderController: ControllerSpec = {
  name: 'persistentvolume-binder',
  primary: 'persistentvolumeclaims',
  // a StatefulSet or a chart makes claims in bursts; each pass waits on its writes
  workers: 4,
  triggers: [
    { resource: 'persistentvolumes', keysFor: claimsFor },
    { resource: 'storageclasses', keysFor: (_class, caches) => waitingClaims(caches) },
    // A pod that stops using a deleted claim lets the claim go.
    {
      resource: 'pods',
      keysFor: (pod) =>
        ((pod as unknown as Pod).spec?.volumes ?? [])
          .filter((v) => v.persistentVolumeClaim?.claimName)
          .map((v) => claimKey(pod.metadata.namespace, v.persistentVolumeClaim!.claimName)),
    },
  ],
  reads: ['nodes'],
  ownsWhatItTouches: false,
  plan: (claim, caches) =>
    planClaim(claim as unknown as PersistentVolumeClaim, {
      volumes: caches.list('persistentvolumes') as unknown as PersistentVolume[],
      classes: caches.list('storageclasses') as unknown as StorageClass[],
      nodes: caches.list('nodes') as Node[],
      pods: caches.list('pods', claim.metadata.namespace) as Pod[],
    }),
};

export const volumeController: ControllerSpec = {
  name: 'persistentvolume-lifecycle',
  primary: 'persistentvolumes',
  triggers: [{ resource: 'persistentvolumeclaims', keysFor: volumesFor }],
  ownsWhatItTouches: false,
  plan: (pv, caches, now) =>
    planVolume(
      pv as unknown as PersistentVolume,
      caches.list('persistentvolumeclaims') as unknown as PersistentVolumeClaim[],
      now,
    ),
};
