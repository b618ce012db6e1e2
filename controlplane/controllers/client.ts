/**
 * The slice of the Kubernetes API that the scheduler and the controllers use, per resource:
 * list, watch, get, create, update (spec or status), delete, and the pod binding subresource.
 *
 * Contract:
 *  - objects passed in are never mutated; objects returned by calls are the caller's to keep;
 *    objects delivered by watch may be shared between watchers and must be treated as read-only;
 *  - update sends metadata.resourceVersion, and a stale one fails with ApiError 'Conflict';
 *  - updateStatus changes only status; update keeps status as stored;
 *  - delete of a missing object fails with ApiError 'NotFound'; with finalizers or a pod grace
 *    period the object stays, marked with deletionTimestamp;
 *  - watch delivers every change after `resourceVersion` in order; onError with ApiError
 *    'Expired'/'Gone' means "list again".
 * Two implementations: MemoryCluster (tests, benchmarks) and HttpClusterClient (a real server).
 */
import type { KubeObject, WatchEvent } from '../../kube/types.ts';

export type ResourceName =
  | 'pods'
  | 'nodes'
  | 'namespaces'
  | 'services'
  | 'endpoints'
  | 'endpointslices'
  | 'networkpolicies'
  | 'ingresses'
  | 'ingressclasses'
  | 'serviceaccounts'
  | 'events'
  | 'leases'
  | 'replicasets'
  | 'replicationcontrollers'
  | 'deployments'
  | 'daemonsets'
  | 'statefulsets'
  | 'controllerrevisions'
  | 'jobs'
  | 'cronjobs'
  | 'configmaps'
  | 'secrets'
  | 'clusterroles'
  | 'persistentvolumes'
  | 'persistentvolumeclaims'
  | 'storageclasses'
  | 'poddisruptionbudgets';

export interface ListResult {
  readonly items: KubeObject[];
  readonly resourceVersion: string;
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface DeleteRequest {
  readonly propagationPolicy?: PropagationPolicy;
  readonly preconditions?: { readonly uid?: string };
  readonly gracePeriodSeconds?: number;
}

export interface WatchSubscription {
  stop(): void;
}

export interface ClusterClient {
  /**
   * Clients with the same scope read the same API (one server's scheduler and controllers): their
   * informers keep one object for one version of an object (informer.ts). Absent: nothing shared.
   */
  readonly versionScope?: string | undefined;
  list(resource: ResourceName): Promise<ListResult>;
  watch(
    resource: ResourceName,
    resourceVersion: string,
    onEvent: (event: WatchEvent) => void,
    onError: (err: unknown) => void,
  ): Promise<WatchSubscription>;
  get(resource: ResourceName, namespace: string | undefined, name: string): Promise<KubeObject>;
  create(resource: ResourceName, object: KubeObject): Promise<KubeObject>;
  update(resource: ResourceName, object: KubeObject): Promise<KubeObject>;
  updateStatus(resource: ResourceName, object: KubeObject): Promise<KubeObject>;
  delete(resource: ResourceName, namespace: string | undefined, name: string, request?: DeleteRequest): Promise<void>;
  /** POST pods/<name>/binding: sets spec.nodeName once; a bound or deleting pod is a Conflict. */
  bind(namespace: string, name: string, nodeName: string): Promise<void>;
}

export const clusterScoped: ReadonlySet<ResourceName> = new Set([
  'nodes',
  'namespaces',
  'clusterroles',
  'persistentvolumes',
  'storageclasses',
]);

/** Resources whose spec changes bump metadata.generation (the API's rule for these kinds). */
export const generationTracked: ReadonlySet<ResourceName> = new Set([
  'replicasets',
  'replicationcontrollers',
  'deployments',
  'daemonsets',
  'statefulsets',
  'jobs',
  'cronjobs',
  'poddisruptionbudgets',
]);

export function objectKey(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${namespace}/${name}` : (name ?? '');
}
