/**
 * ClusterClient over the shared HTTPS client in kube/, so the scheduler and the controllers talk
 * to the API server exactly as a remote kube-controller-manager would. Watches that the server
 * ends normally (its timeout) are resumed from the last version seen; a broken or expired watch is
 * reported so the informer lists again.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { ResourceRef } from '../../kube/resource-ref.ts';
import type { KubeObject, WatchEvent } from '../../kube/types.ts';
import {
  clusterScoped,
  type ClusterClient,
  type DeleteRequest,
  type ListResult,
  type ResourceName,
  type WatchSubscription,
} from './client.ts';

const groups: Record<ResourceName, string> = {
  pods: '',
  nodes: '',
  namespaces: '',
  services: '',
  endpoints: '',
  serviceaccounts: '',
  events: '',
  configmaps: '',
  secrets: '',
  endpointslices: 'discovery.k8s.io',
  networkpolicies: 'networking.k8s.io',
  ingresses: 'networking.k8s.io',
  ingressclasses: 'networking.k8s.io',
  leases: 'coordination.k8s.io',
  replicasets: 'apps',
  replicationcontrollers: '',
  deployments: 'apps',
  daemonsets: 'apps',
  statefulsets: 'apps',
  controllerrevisions: 'apps',
  jobs: 'batch',
  cronjobs: 'batch',
  clusterroles: 'rbac.authorization.k8s.io',
  persistentvolumes: '',
  persistentvolumeclaims: '',
  storageclasses: 'storage.k8s.io',
  poddisruptionbudgets: 'policy',
};

export function refFor(resource: ResourceName): ResourceRef {
  return { group: groups[resource], version: 'v1', resource, namespaced: !clusterScoped.has(resource) };
}

export class KubeClusterClient implements ClusterClient {
  readonly #client: KubeClient;
  readonly versionScope: string | undefined;

  constructor(client: KubeClient, versionScope?: string) {
    this.#client = client;
    this.versionScope = versionScope;
  }

  async list(resource: ResourceName): Promise<ListResult> {
    const list = await this.#client.list(refFor(resource));
    return { items: list.items, resourceVersion: list.metadata.resourceVersion ?? '0' };
  }

  async watch(
    resource: ResourceName,
    resourceVersion: string,
    onEvent: (event: WatchEvent) => void,
    onError: (err: unknown) => void,
  ): Promise<WatchSubscription> {
    const controller = new AbortController();
    let version = resourceVersion;
    const run = async () => {
      while (!controller.signal.aborted) {
        for await (const event of this.#client.watch(refFor(resource), {
          resourceVersion: version,
          allowBookmarks: true,
          signal: controller.signal,
        })) {
          const seen = event.object?.metadata?.resourceVersion;
          if (seen) version = seen;
          if (event.type !== 'BOOKMARK') onEvent(event);
        }
      }
    };
    run().catch((err: unknown) => {
      if (!controller.signal.aborted) onError(err);
    });
    return { stop: () => controller.abort() };
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.#client.get(refFor(resource), name, namespace);
  }

  create(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.#client.create(refFor(resource), object);
  }

  update(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.#client.update(refFor(resource), object);
  }

  updateStatus(resource: ResourceName, object: KubeObject): Promise<KubeObject> {
    return this.#client.updateStatus(refFor(resource), object);
  }

  async delete(
    resource: ResourceName,
    namespace: string | undefined,
    name: string,
    request: DeleteRequest = {},
  ): Promise<void> {
    await this.#client.delete(refFor(resource), name, {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(request.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: request.gracePeriodSeconds } : {}),
      ...(request.preconditions ? { preconditions: request.preconditions } : {}),
      ...(request.propagationPolicy ? { propagationPolicy: request.propagationPolicy } : {}),
    });
  }

  async bind(namespace: string, name: string, nodeName: string): Promise<void> {
    if (name === '' || name.includes('/')) throw new ApiError('BadRequest', `cannot bind a pod named "${name}"`);
    // The binding subresource is a create on pods/<name>/binding.
    const bindingRef: ResourceRef = {
      group: '',
      version: 'v1',
      resource: `pods/${encodeURIComponent(name)}/binding`,
      namespaced: true,
    };
    await this.#client.create(bindingRef, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    });
  }
}
