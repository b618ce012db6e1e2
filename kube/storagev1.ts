/**
 * PersistentVolumes, PersistentVolumeClaims (core/v1) and StorageClasses (storage.k8s.io/v1): the
 * fields the binder, the scheduler and the agent read, plus the annotations and finalizers upstream
 * gives them meaning with.
 */
import type { NodeSelectorTerm, Quantity } from './corev1.ts';
import type { LabelSelectorObject } from './labels.ts';
import type { ObjectMeta } from './types.ts';

type AccessMode = 'ReadWriteOnce' | 'ReadOnlyMany' | 'ReadWriteMany' | 'ReadWriteOncePod';
export type VolumePhase = 'Pending' | 'Available' | 'Bound' | 'Released' | 'Failed';
type ClaimPhase = 'Pending' | 'Bound' | 'Lost';
type ReclaimPolicy = 'Retain' | 'Delete' | 'Recycle';
type BindingMode = 'Immediate' | 'WaitForFirstConsumer';

interface ClaimReference {
  kind?: string;
  apiVersion?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface PersistentVolume {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    accessModes?: AccessMode[];
    capacity?: { storage?: Quantity };
    claimRef?: ClaimReference;
    persistentVolumeReclaimPolicy?: ReclaimPolicy;
    storageClassName?: string;
    volumeMode?: 'Filesystem' | 'Block';
    nodeAffinity?: { required?: { nodeSelectorTerms: NodeSelectorTerm[] } };
    hostPath?: { path: string; type?: string };
    local?: { path: string; fsType?: string };
    mountOptions?: string[];
    [source: string]: unknown;
  };
  status?: { phase?: VolumePhase; message?: string; reason?: string; lastPhaseTransitionTime?: string };
  [field: string]: unknown;
}

export interface PersistentVolumeClaim {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: {
    accessModes?: AccessMode[];
    resources?: { requests?: { storage?: Quantity }; limits?: { storage?: Quantity } };
    selector?: LabelSelectorObject;
    storageClassName?: string | null;
    volumeName?: string;
    volumeMode?: 'Filesystem' | 'Block';
    [field: string]: unknown;
  };
  status?: {
    phase?: ClaimPhase;
    accessModes?: AccessMode[];
    capacity?: { storage?: Quantity };
    conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[];
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface StorageClass {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  provisioner: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: 'Retain' | 'Delete';
  volumeBindingMode?: BindingMode;
  allowVolumeExpansion?: boolean;
  allowedTopologies?: { matchLabelExpressions?: { key: string; values: string[] }[] }[];
  [field: string]: unknown;
}

/** The node the scheduler chose for a WaitForFirstConsumer claim (set on the claim). */
export const selectedNodeAnnotation = 'volume.kubernetes.io/selected-node';
/** Which provisioner is asked to make a volume for the claim (set on the claim by the binder). */
export const storageProvisionerAnnotation = 'volume.kubernetes.io/storage-provisioner';
export const betaStorageProvisionerAnnotation = 'volume.beta.kubernetes.io/storage-provisioner';
/** Which provisioner made the PV (set on the PV by the provisioner). */
export const provisionedByAnnotation = 'pv.kubernetes.io/provisioned-by';
/** The binder finished binding the claim. */
export const bindCompletedAnnotation = 'pv.kubernetes.io/bind-completed';
/** The binder, not a person, chose the volume or claim. */
export const boundByControllerAnnotation = 'pv.kubernetes.io/bound-by-controller';

export const pvcProtectionFinalizer = 'kubernetes.io/pvc-protection';
export const pvProtectionFinalizer = 'kubernetes.io/pv-protection';

/** The built-in provisioner of node-local folders, and its default class. */
export const localPathProvisioner = 'bosun.io/local-path';
export const localPathClassName = 'local-path';
/** Label every node carries with its own name; PVs pinned to a node select it. */
export const hostnameLabel = 'kubernetes.io/hostname';

/**
 * The node a local-path volume lives on: set for a PV the built-in provisioner made (its
 * provisioned-by annotation) pinned to exactly one node by hostname; undefined for any other PV.
 */
export function localPathNodeOf(pv: Pick<PersistentVolume, 'metadata' | 'spec'>): string | undefined {
  if (pv.metadata.annotations?.[provisionedByAnnotation] !== localPathProvisioner) return undefined;
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  const only = terms.length === 1 ? terms[0]!.matchExpressions : undefined;
  const requirement = only?.length === 1 && !terms[0]!.matchFields?.length ? only[0] : undefined;
  if (requirement?.key !== hostnameLabel || requirement.operator !== 'In' || requirement.values?.length !== 1)
    return undefined;
  return requirement.values[0];
}
