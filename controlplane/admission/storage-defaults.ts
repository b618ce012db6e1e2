/**
 * Upstream's defaults for the storage kinds, and its StorageObjectInUseProtection admission (a
 * new claim carries kubernetes.io/pvc-protection, a new volume kubernetes.io/pv-protection, from
 * the start, so no controller has to race other writers to add them): a PV is kept (Retain) unless it says otherwise, PVs and
 * claims are filesystems, both start Pending; a StorageClass deletes what it provisioned and binds
 * at once (Immediate) unless it says otherwise.
 */
type Any = Record<string, any>;

function protect(o: Any, finalizer: string): void {
  o.metadata ??= {};
  const finalizers: unknown[] = Array.isArray(o.metadata.finalizers) ? o.metadata.finalizers : [];
  if (!finalizers.includes(finalizer)) o.metadata.finalizers = [...finalizers, finalizer];
}

export function defaultPersistentVolume(pv: Any, creating: boolean): void {
  if (creating) protect(pv, 'kubernetes.io/pv-protection');
  pv.spec ??= {};
  pv.spec.persistentVolumeReclaimPolicy ??= 'Retain';
  pv.spec.volumeMode ??= 'Filesystem';
  if (creating) {
    pv.status ??= {};
    pv.status.phase ??= 'Pending';
  }
}

export function defaultPersistentVolumeClaim(claim: Any, creating: boolean): void {
  if (creating) protect(claim, 'kubernetes.io/pvc-protection');
  claim.spec ??= {};
  claim.spec.volumeMode ??= 'Filesystem';
  if (creating) {
    claim.status ??= {};
    claim.status.phase ??= 'Pending';
  }
}

export function defaultStorageClass(storageClass: Any): void {
  storageClass.reclaimPolicy ??= 'Delete';
  storageClass.volumeBindingMode ??= 'Immediate';
}
