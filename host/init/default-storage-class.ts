/**
 * The StorageClass `bosun init` makes, as k3s ships its local-path class: the cluster's default
 * (claims without a class get it), served by the built-in bosun.io/local-path provisioner, binding
 * only when a pod is scheduled (WaitForFirstConsumer: the volume is made on the pod's node), and
 * deleting a volume's folder with its claim. A class of that name that already exists is left as
 * it is (an operator may have changed it).
 */
import type { KubeClient } from '../../kube/client.ts';
import { isApiError } from '../../kube/errors.ts';
import { refs } from '../../kube/resource-ref.ts';
import { localPathClassName, localPathProvisioner, type StorageClass } from '../../kube/storagev1.ts';
import type { KubeObject } from '../../kube/types.ts';

export const defaultStorageClass: StorageClass = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: {
    name: localPathClassName,
    annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
  },
  provisioner: localPathProvisioner,
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'WaitForFirstConsumer',
  // a folder has no size of its own: growing a claim only grows what is accounted for it
  allowVolumeExpansion: true,
};

/** Creates the default class unless one of its name exists; says whether it made it. */
export async function ensureDefaultStorageClass(client: KubeClient): Promise<boolean> {
  try {
    await client.create(refs.storageclasses, structuredClone(defaultStorageClass) as unknown as KubeObject);
    return true;
  } catch (err) {
    if (isApiError(err, 'AlreadyExists')) return false;
    throw err;
  }
}
