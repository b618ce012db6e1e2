/** LeaseApi over the Kubernetes API client. */
import type { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { Lease } from '../../kube/corev1.ts';
import { isApiError } from '../../kube/errors.ts';
import type { LeaseApi } from './lease.ts';

export function kubeLeaseApi(client: KubeClient): LeaseApi {
  return {
    async get(namespace, name) {
      try {
        return await client.get<Lease>(refs.leases, name, namespace);
      } catch (err) {
        if (isApiError(err, 'NotFound')) return undefined;
        throw err;
      }
    },
    create: (lease) => client.create<Lease>(refs.leases, lease),
    update: (lease) => client.update<Lease>(refs.leases, lease),
  };
}
