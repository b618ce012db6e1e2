/**
 * Which PersistentVolume may serve a claim, as upstream's binder decides it (pure): the same class,
 * the same volume mode, every access mode the claim asks for, at least the storage it requests, the
 * labels its selector wants, and (for a claim waiting for its first consumer) a node affinity that
 * admits the node the scheduler chose. A volume already promised to the claim (claimRef) wins;
 * otherwise the smallest volume that fits, so large volumes stay for large claims.
 */
import type { Node } from '../../kube/corev1.ts';
import { matchesLabels, selectorFromObject } from '../../kube/labels.ts';
import { parseQuantity } from '../../kube/quantity.ts';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../kube/storagev1.ts';
import { termMatches } from '../scheduler/node-affinity.ts';

const betaClassAnnotation = 'volume.beta.kubernetes.io/storage-class';

/** Bytes of a quantity; 0 when absent or unreadable. */
export function storageBytes(value: string | number | undefined): number {
  if (value === undefined) return 0;
  try {
    return parseQuantity(value);
  } catch {
    return 0;
  }
}

export function claimClassName(claim: PersistentVolumeClaim): string {
  return claim.spec.storageClassName ?? claim.metadata.annotations?.[betaClassAnnotation] ?? '';
}

function volumeClassName(pv: PersistentVolume): string {
  return pv.spec.storageClassName ?? pv.metadata.annotations?.[betaClassAnnotation] ?? '';
}

export function requestedBytes(claim: PersistentVolumeClaim): number {
  return storageBytes(claim.spec.resources?.requests?.storage);
}

/** Whether the volume's node affinity admits the node (a volume without one goes anywhere). */
export function volumeFitsNode(pv: PersistentVolume, node: Node): boolean {
  const terms = pv.spec.nodeAffinity?.required?.nodeSelectorTerms;
  if (terms === undefined) return true;
  return terms.some((term) => termMatches(term, node));
}

/** Whether the volume is promised to this claim (its claimRef names the claim, with its uid or none). */
export function isPromisedTo(pv: PersistentVolume, claim: PersistentVolumeClaim): boolean {
  const ref = pv.spec.claimRef;
  return (
    ref !== undefined &&
    ref.name === claim.metadata.name &&
    ref.namespace === claim.metadata.namespace &&
    (!ref.uid || ref.uid === claim.metadata.uid)
  );
}

/** Why the volume cannot serve the claim, or undefined when it can (upstream's checkVolumeSatisfyClaim). */
export function mismatch(pv: PersistentVolume, claim: PersistentVolumeClaim): string | undefined {
  if (storageBytes(pv.spec.capacity?.storage) < requestedBytes(claim)) return 'requested PV is too small';
  if (volumeClassName(pv) !== claimClassName(claim)) return 'storageClassName does not match';
  if ((pv.spec.volumeMode ?? 'Filesystem') !== (claim.spec.volumeMode ?? 'Filesystem'))
    return 'incompatible volumeMode';
  const modes = pv.spec.accessModes ?? [];
  if (!(claim.spec.accessModes ?? []).every((mode) => modes.includes(mode))) return 'incompatible accessMode';
  return undefined;
}

/** The volume the claim should bind to, if any. `node`: only volumes that admit it. */
export function volumeForClaim(
  claim: PersistentVolumeClaim,
  volumes: readonly PersistentVolume[],
  node?: Node,
): PersistentVolume | undefined {
  const usable = (pv: PersistentVolume) =>
    !pv.metadata.deletionTimestamp &&
    mismatch(pv, claim) === undefined &&
    (node === undefined || volumeFitsNode(pv, node));
  const promised = volumes.find((pv) => isPromisedTo(pv, claim) && usable(pv));
  if (promised !== undefined) return promised;
  const selector = selectorFromObject(claim.spec.selector);
  const free = volumes.filter(
    (pv) =>
      pv.spec.claimRef === undefined &&
      (pv.status?.phase ?? 'Available') === 'Available' &&
      usable(pv) &&
      (selector.length === 0 || matchesLabels(selector, pv.metadata.labels)),
  );
  free.sort(
    (a, b) =>
      storageBytes(a.spec.capacity?.storage) - storageBytes(b.spec.capacity?.storage) ||
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  return free[0];
}

/** Whether binding waits for a pod to be scheduled (the class says WaitForFirstConsumer). */
export function waitsForConsumer(claim: PersistentVolumeClaim, classes: readonly StorageClass[]): boolean {
  const name = claimClassName(claim);
  if (name === '') return false;
  return classes.find((c) => c.metadata.name === name)?.volumeBindingMode === 'WaitForFirstConsumer';
}
