/** LeaseClient over the shared HTTPS client: the elector reaches the API as a remote component would. */
import type { KubeClient } from '../../kube/client.ts';
import type { Lease } from '../../kube/corev1.ts';
import { isApiError } from '../../kube/errors.ts';
import type { ResourceRef } from '../../kube/resource-ref.ts';
import type { LeaseClient } from './leader-elector.ts';

const leasesRef: ResourceRef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  resource: 'leases',
  namespaced: true,
};

export function kubeLeaseClient(client: KubeClient): LeaseClient {
  return {
    get: async (namespace, name) => {
      try {
        return await client.get<Lease>(leasesRef, name, namespace);
      } catch (err) {
        if (isApiError(err, 'NotFound')) return undefined;
        throw err;
      }
    },
    create: (lease) => client.create<Lease>(leasesRef, lease),
    update: (lease) => client.update<Lease>(leasesRef, lease),
    // no resourceVersion: the lease as it is now comes first (ADDED), then its changes
    watch: async function* (namespace, name, signal) {
      const events = client.watch<Lease>(leasesRef, { namespace, fieldSelector: `metadata.name=${name}`, signal });
      for await (const event of events) {
        if (event.type === 'ADDED' || event.type === 'MODIFIED') yield event.object;
        else if (event.type === 'DELETED') yield undefined;
      }
    },
  };
}
