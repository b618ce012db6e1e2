/** NodeApi over the Kubernetes API client. */
import type { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { Node } from '../../kube/corev1.ts';
import { isApiError } from '../../kube/errors.ts';
import type { NodeApi } from './node-status-loop.ts';

export function kubeNodeApi(client: KubeClient): NodeApi {
  return {
    async get(name) {
      try {
        return await client.get<Node>(refs.nodes, name);
      } catch (err) {
        if (isApiError(err, 'NotFound')) return undefined;
        throw err;
      }
    },
    create: (node) => client.create<Node>(refs.nodes, node),
    patchLabels: (name, labels) => client.patch<Node>(refs.nodes, name, { metadata: { labels } }, { type: 'merge' }),
    // strategic merge: conditions and addresses merge by type, so a condition another component
    // owns (NetworkUnavailable) survives our write
    patchStatus: (name, status) =>
      client.patch<Node>(refs.nodes, name, { status }, { type: 'strategic', subresource: 'status' }),
  };
}
