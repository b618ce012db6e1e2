/**
 * The controllers' side of the one informer (kube/informer.ts): a ListWatch over a ClusterClient
 * (the API in a server, the in-memory cluster in tests) and the two indexes controllers read by.
 * When the watch breaks (410 Gone after compaction included) the informer lists again after a
 * pause and reports the differences as adds, updates and deletes, so handlers never miss a change.
 */
import type { KubeObject } from '../../kube/types.ts';
import { Informer, type ListWatch, type WatchEventType } from '../../kube/informer.ts';
import { TextPool } from '../../kube/text-pool.ts';
import type { ClusterClient, ResourceName, WatchSubscription } from './client.ts';
import { controllerOf } from './pods.ts';

/**
 * The texts of every cached object, one instance each, shared by all the informers of this process
 * (the scheduler's and the controllers' pods are the same pods): the values of 30,000 pods repeat.
 */
const cachedTexts = new TextPool();

/**
 * The versions an informer of this process cached and no other has yet, by the client's scope
 * (ClusterClient.versionScope: one API), API version, UID and resourceVersion. The scheduler's and the controllers' informers of a resource get every version
 * of every object within moments of each other; one version is one stored state, so the second
 * informer takes the object the first made instead of its own copy of it (with 30,000 pods, a
 * third of the server's heap). Informers' objects are read-only to their readers, as upstream's are.
 */
const recentVersions = new Map<string, KubeObject>();
/** Enough for the versions written while one informer's event waits for the other's (what is kept here and nowhere else is garbage held). */
const recentVersionsKept = 1024;

/** Remembers `object` as the cached form of its version (when it has one), forgetting the oldest past the bound. */
function remembered<T extends KubeObject>(key: string | undefined, object: T): T {
  if (key === undefined) return object;
  recentVersions.set(key, object);
  if (recentVersions.size > recentVersionsKept) recentVersions.delete(recentVersions.keys().next().value!);
  return object;
}

/**
 * The object as a cache keeps it: without metadata.managedFields, which no controller or scheduler
 * reads and which made up about half of a cached pod (kube-scheduler and kube-controller-manager
 * strip it from their informers for the same reason), with its string values pooled, and the very
 * object another informer of this process keeps for the same version. A copy where it drops a
 * field, so an object shared with others is never changed (pooling replaces strings by equal ones,
 * which no one can tell). Writes from such an object keep the stored field owners: an update
 * without managedFields keeps what the server has.
 */
function cachedForm<T extends KubeObject>(object: T, scope: string | undefined): T {
  const { uid, resourceVersion } = object.metadata ?? {};
  // (the API version too: one stored state reads differently in two versions of a resource)
  const key =
    scope !== undefined && uid && resourceVersion
      ? `${scope} ${object.apiVersion}/${uid}/${resourceVersion}`
      : undefined;
  const known = key === undefined ? undefined : recentVersions.get(key);
  if (known !== undefined) {
    recentVersions.delete(key!);
    return known as T;
  }
  if (object.metadata?.managedFields === undefined) return remembered(key, cachedTexts.shareTexts(object));
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return remembered(key, cachedTexts.shareTexts({ ...object, metadata }));
}

/** A ListWatch over a ClusterClient: the list is always the newest state; the watch ends only when it breaks. */
function clusterListWatch<T extends KubeObject>(client: ClusterClient, resource: ResourceName): ListWatch<T> {
  return {
    async list() {
      const listed = await client.list(resource);
      return {
        items: (listed.items as T[]).map((item) => cachedForm(item, client.versionScope)),
        resourceVersion: listed.resourceVersion,
      };
    },
    watch(resourceVersion, onEvent, signal, started) {
      return new Promise<void>((resolve, reject) => {
        let subscription: WatchSubscription | undefined;
        let ended = false;
        const end = (err?: unknown) => {
          if (ended) return;
          ended = true;
          subscription?.stop();
          signal.removeEventListener('abort', aborted);
          if (err === undefined) resolve();
          else reject(err);
        };
        const aborted = () => end();
        signal.addEventListener('abort', aborted, { once: true });
        client
          .watch(
            resource,
            resourceVersion,
            (event) => onEvent(event.type as WatchEventType, cachedForm(event.object as T, client.versionScope)),
            (err) => end(err ?? new Error(`the ${resource} watch ended`)),
          )
          .then(
            (opened) => {
              subscription = opened;
              if (ended) opened.stop();
              else started();
            },
            (err: unknown) => end(err),
          );
      });
    },
  };
}

interface ClusterInformerOptions {
  /** Pause before listing again after a broken watch (doubles up to 30 s). */
  readonly relistDelayMs?: number;
  readonly onError?: (err: unknown) => void;
}

/**
 * An informer of one resource for controllers, indexed by namespace (per-namespace reads do not
 * scan the whole cache) and by controller uid, or '\0' + namespace for objects without a
 * controller: what a controller may claim (its own and the orphans) without a scan of the
 * namespace (30,000 pods per ReplicaSet pass at 1,000 nodes).
 */
export function clusterInformer<T extends KubeObject = KubeObject>(
  client: ClusterClient,
  resource: ResourceName,
  options: ClusterInformerOptions = {},
): Informer<T> {
  return new Informer<T>(clusterListWatch<T>(client, resource), {
    retryMs: options.relistDelayMs ?? 1000,
    indexers: {
      namespace: (o) => o.metadata.namespace ?? '',
      controller: (o) => controllerOf(o)?.uid ?? `\0${o.metadata.namespace ?? ''}`,
      // what is bound to a node (pods): a node going away reads its own pods, not every pod
      node: (o) => {
        const nodeName = (o.spec as { nodeName?: unknown } | undefined)?.nodeName;
        return typeof nodeName === 'string' && nodeName !== '' ? nodeName : undefined;
      },
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });
}

export function listNamespace<T extends KubeObject>(informer: Informer<T>, namespace: string): T[] {
  return informer.byIndex('namespace', namespace);
}

/** Objects bound to `node` (pods by spec.nodeName). */
export function listOnNode<T extends KubeObject>(informer: Informer<T>, node: string): T[] {
  return informer.byIndex('node', node);
}

/** Objects controlled by `controllerUid`, and those in `namespace` that no controller controls. */
export function listClaimable<T extends KubeObject>(
  informer: Informer<T>,
  namespace: string,
  controllerUid: string,
): T[] {
  return [...informer.byIndex('controller', controllerUid), ...informer.byIndex('controller', `\0${namespace}`)];
}
