/** PodApi over the Kubernetes API client. */
import type { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { Pod } from '../../kube/corev1.ts';
import { isApiError } from '../../kube/errors.ts';
import type { PodApi } from './status-writer.ts';

export function kubePodApi(client: KubeClient): PodApi {
  return {
    async writeStatus(pod, status) {
      // strategic merge: conditions merge by type, so a readiness gate's condition written by
      // someone else between our read and this write survives
      await client.patch<Pod>(
        refs.pods,
        pod.metadata.name ?? '',
        { status },
        {
          namespace: pod.metadata.namespace ?? 'default',
          subresource: 'status',
          type: 'strategic',
        },
      );
    },
    async deletePod(pod) {
      try {
        await client.delete(refs.pods, pod.metadata.name ?? '', {
          namespace: pod.metadata.namespace ?? 'default',
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid ?? '' },
        });
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
      }
    },
  };
}
