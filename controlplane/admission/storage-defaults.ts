/**
 * Upstream's defaults for the storage kinds: a PV is kept (Retain) unless it says otherwise, PVs and
 * claims are filesystems, both start Pending; a StorageClass deletes what it provisioned and binds
 * at once (Immediate) unless it says otherwise.
 */
type Any = Record<string, any>;

export function defaultPersistentVolume(pv: Any, creating: boolean): void {
  pv.spec ??= {};
  pv.spec.persistentVolumeReclaimPolicy ??= 'Retain';
  pv.spec.volumeMode ??= 'Filesystem';
  if (creating) {
    pv.status ??= {};
    pv.status.phase ??= 'Pending';
  }
}

export function defaultPersistentVolumeClaim(claim: Any, creating: boolean): void {
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
