/** MirrorApi over the Kubernetes API client, and the pod API the PodManager gets when static pods run. */
import type { KubeClient } from '../../kube/client.ts';
import type { Pod } from '../../kube/corev1.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { PodApi } from '../pods/status-writer.ts';
import type { MirrorApi } from './static-pods.ts';
import { isStaticPod } from './static-pod-manifest.ts';

export function kubeMirrorApi(client: KubeClient): MirrorApi {
  return {
    async create(pod) {
      await client.create<Pod>(refs.pods, pod);
    },
    async delete(namespace, name, uid) {
      await client.delete(refs.pods, name, { namespace, gracePeriodSeconds: 0, preconditions: { uid } });
    },
  };
}

/**
 * The PodManager deletes a terminated pod's API object; a static pod's object is its mirror, which
 * the static pod source keeps (it has another UID and goes when the file does).
 */
export function skippingStaticPodDeletes(api: PodApi): PodApi {
  return { ...api, deletePod: (pod) => (isStaticPod(pod) ? Promise.resolve() : api.deletePod(pod)) };
}
