/**
 * The claims and volumes a pod's persistentVolumeClaim volumes name, read with the node's own
 * identity each time a pod's volumes are set up (a claim is bound once; a fresh read is cheap and
 * never stale at the moment that matters).
 */
import type { KubeClient } from '../../../kube/client.ts';
import { isApiError } from '../../../kube/errors.ts';
import { refs } from '../../../kube/resource-ref.ts';
import type { PersistentVolume, PersistentVolumeClaim } from '../../../kube/storagev1.ts';
import type { KubeObject } from '../../../kube/types.ts';

export interface ClaimSource {
  claim(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  volume(name: string): Promise<PersistentVolume | undefined>;
}

async function orUndefined<T>(read: Promise<KubeObject>): Promise<T | undefined> {
  try {
    return (await read) as unknown as T;
  } catch (err) {
    if (isApiError(err, 'NotFound')) return undefined;
    throw err;
  }
}

export function apiClaimSource(client: KubeClient): ClaimSource {
  return {
    claim: (namespace, name) => orUndefined(client.get(refs.persistentvolumeclaims, name, namespace)),
    volume: (name) => orUndefined(client.get(refs.persistentvolumes, name)),
  };
}
