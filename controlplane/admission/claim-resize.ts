/**
 * The PersistentVolumeClaimResize admission plugin: a claim may ask for more storage only when its
 * class allows volume expansion (`allowVolumeExpansion: true`), refused otherwise with upstream's
 * 403 before validation sees the change.
 */
import { ApiError } from '../../kube/errors.ts';
import { parseQuantity } from '../../kube/quantity.ts';
import type { KubeObject } from '../../kube/types.ts';

type Any = Record<string, any>;

function requested(claim: Any | undefined): number | undefined {
  const value = claim?.spec?.resources?.requests?.storage;
  try {
    return value === undefined || value === null ? undefined : parseQuantity(value);
  } catch {
    return undefined;
  }
}

export function admitClaimResize(claim: Any, old: Any, classes: readonly KubeObject[]): void {
  const before = requested(old);
  const after = requested(claim);
  if (before === undefined || after === undefined || after <= before) return;
  const className = old.spec?.storageClassName;
  const storageClass = classes.find((c) => c.metadata.name === className) as Any | undefined;
  if (storageClass?.allowVolumeExpansion === true) return;
  throw new ApiError(
    'Forbidden',
    `persistentvolumeclaims "${claim.metadata?.name ?? ''}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`,
  );
}
