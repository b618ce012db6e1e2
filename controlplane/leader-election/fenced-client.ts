/**
 * The ClusterClient the scheduler and the controllers write through while they run under an
 * elected lease: every write first asks whether this process still leads, and is refused when it
 * does not. A leader cut off from the datastore stops writing at its renew deadline, before its
 * lease can expire and a standby starts, even when its loops have not noticed yet; a late write
 * from a stale leader never reaches the API. Reads and watches pass through.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { ClusterClient, DeleteRequest, ResourceName } from '../controllers/client.ts';
import { LeadershipLostError } from '../errors.ts';

/** A check to make before any write: throws LeadershipLostError once this process no longer leads `lease`. */
export function writeFence(lease: string, isLeader: () => boolean): () => void {
  return () => {
    if (!isLeader()) throw new LeadershipLostError(lease);
  };
}

export function fencedClient(inner: ClusterClient, lease: string, isLeader: () => boolean): ClusterClient {
  const fence = writeFence(lease, isLeader);
  return {
    versionScope: inner.versionScope,
    list: (resource) => inner.list(resource),
    watch: (resource, resourceVersion, onEvent, onError) => inner.watch(resource, resourceVersion, onEvent, onError),
    get: (resource, namespace, name) => inner.get(resource, namespace, name),
    create: async (resource: ResourceName, object: KubeObject) => {
      fence();
      return inner.create(resource, object);
    },
    update: async (resource: ResourceName, object: KubeObject) => {
      fence();
      return inner.update(resource, object);
    },
    updateStatus: async (resource: ResourceName, object: KubeObject) => {
      fence();
      return inner.updateStatus(resource, object);
    },
    delete: async (resource: ResourceName, namespace: string | undefined, name: string, request?: DeleteRequest) => {
      fence();
      return inner.delete(resource, namespace, name, request);
    },
    bind: async (namespace: string, name: string, nodeName: string) => {
      fence();
      return inner.bind(namespace, name, nodeName);
    },
  };
}
