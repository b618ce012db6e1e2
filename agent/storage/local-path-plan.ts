/**
 * The built-in local-path provisioner's decisions for one node (pure), following upstream's
 * external-provisioner protocol:
 *  - provision: a claim asks for `bosun.io/local-path` (volume.kubernetes.io/storage-provisioner,
 *    set by the binder) on this node (volume.kubernetes.io/selected-node, set by the scheduler) and
 *    has no volume yet: make the folder `<--local-path-root>/pvc-<claim uid>` and a PV promised to
 *    the claim (claimRef with its uid), pinned to this node, of the claim's size, access modes and
 *    mode, with its class's reclaim policy;
 *  - reclaim: a PV this provisioner made on this node is Released with policy Delete: remove the
 *    folder (the data), then the PV. Retain keeps both until a person decides.
 * Folder names come from PV names checked as one folder name (agent/pods/path-parts.ts); the
 * executor checks again on the disk that the folder lies inside the root.
 */
import {
  hostnameLabel,
  localPathNodeOf,
  localPathProvisioner,
  provisionedByAnnotation,
  selectedNodeAnnotation,
  storageProvisionerAnnotation,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type StorageClass,
} from '../../kube/storagev1.ts';
import { localPathFolder } from '../pods/volumes/claim-mount.ts';

interface LocalPathWorld {
  readonly nodeName: string;
  readonly localPathRoot: string;
  readonly claims: readonly PersistentVolumeClaim[];
  readonly volumes: readonly PersistentVolume[];
  readonly classes: readonly StorageClass[];
}

export type LocalPathAction =
  | {
      readonly kind: 'provision';
      readonly claim: PersistentVolumeClaim;
      readonly pv: PersistentVolume;
      readonly folder: string;
    }
  | { readonly kind: 'reclaim'; readonly pv: PersistentVolume; readonly folder: string }
  | { readonly kind: 'refuse'; readonly claim: PersistentVolumeClaim; readonly message: string };

function volumeNameFor(claim: PersistentVolumeClaim): string {
  return `pvc-${claim.metadata.uid ?? ''}`;
}

export function localPathVolume(
  claim: PersistentVolumeClaim,
  storageClass: StorageClass,
  nodeName: string,
  folder: string,
): PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: volumeNameFor(claim), annotations: { [provisionedByAnnotation]: localPathProvisioner } },
    spec: {
      accessModes: [...(claim.spec.accessModes ?? ['ReadWriteOnce'])],
      capacity: { storage: claim.spec.resources?.requests?.storage ?? '0' },
      claimRef: {
        kind: 'PersistentVolumeClaim',
        apiVersion: 'v1',
        namespace: claim.metadata.namespace ?? '',
        name: claim.metadata.name ?? '',
        uid: claim.metadata.uid ?? '',
        resourceVersion: claim.metadata.resourceVersion ?? '',
      },
      persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
      storageClassName: storageClass.metadata.name ?? '',
      volumeMode: 'Filesystem',
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: hostnameLabel, operator: 'In', values: [nodeName] }] }],
        },
      },
      local: { path: folder },
    },
  };
}

/**
 * A claim this node should make a volume for: sent here by the scheduler, and handed to the
 * local-path provisioner by the binder, or of a local-path class (the class is checked by the
 * caller), which lets the node start without waiting for the binder's annotation.
 */
function wantsVolumeHere(claim: PersistentVolumeClaim, nodeName: string): boolean {
  const annotations = claim.metadata.annotations ?? {};
  const asked = annotations[storageProvisionerAnnotation];
  return (
    (asked === undefined || asked === localPathProvisioner) &&
    annotations[selectedNodeAnnotation] === nodeName &&
    !claim.spec.volumeName &&
    !claim.metadata.deletionTimestamp
  );
}

export function planLocalPath(world: LocalPathWorld): LocalPathAction[] {
  const actions: LocalPathAction[] = [];
  const names = new Set(world.volumes.map((pv) => pv.metadata.name));
  for (const claim of world.claims) {
    if (!wantsVolumeHere(claim, world.nodeName) || names.has(volumeNameFor(claim))) continue;
    const storageClass = world.classes.find((c) => c.metadata.name === claim.spec.storageClassName);
    if (storageClass === undefined || storageClass.provisioner !== localPathProvisioner) continue;
    if ((claim.spec.volumeMode ?? 'Filesystem') !== 'Filesystem') {
      actions.push({ kind: 'refuse', claim, message: 'the local-path provisioner makes Filesystem volumes only' });
      continue;
    }
    if (claim.spec.selector !== undefined) {
      actions.push({ kind: 'refuse', claim, message: 'claim Selector is not supported' });
      continue;
    }
    let folder: string;
    try {
      folder = localPathFolder(world.localPathRoot, volumeNameFor(claim));
    } catch (err) {
      actions.push({ kind: 'refuse', claim, message: (err as Error).message });
      continue;
    }
    actions.push({
      kind: 'provision',
      claim,
      folder,
      pv: localPathVolume(claim, storageClass, world.nodeName, folder),
    });
  }
  for (const pv of world.volumes) {
    if (localPathNodeOf(pv) !== world.nodeName || pv.status?.phase !== 'Released') continue;
    if (pv.spec.persistentVolumeReclaimPolicy !== 'Delete') continue;
    try {
      actions.push({ kind: 'reclaim', pv, folder: localPathFolder(world.localPathRoot, pv.metadata.name ?? '') });
    } catch {
      // a name that is no folder name was never a folder here: nothing to remove
    }
  }
  return actions;
}
