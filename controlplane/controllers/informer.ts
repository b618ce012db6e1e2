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
 * The object as a cache keeps it: without metadata.managedFields, which no controller or scheduler
 * reads and which made up about half of a cached pod (kube-scheduler and kube-controller-manager
 * strip it from their informers for the same reason), and with its string values pooled. A copy
 * where it drops a field, so an object shared with others is never changed (pooling replaces
 * strings by equal ones, which no one can tell). Writes from such an object keep the stored field
 * owners: an update without managedFields keeps what the server has.
 */
function cachedForm<T extends KubeObject>(object: T): T {
  if (object.metadata?.managedFields === undefined) return cachedTexts.shareTexts(object);
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return cachedTexts.shareTexts({ ...object, metadata });
}

/** A ListWatch over a ClusterClient: the list is always the newest state; the watch ends only when it breaks. */
function clusterListWatch<T extends KubeObject>(client: ClusterClient, resource: ResourceName): ListWatch<T> {
  return {
    async list() {
      const listed = await client.list(resource);
      return { items: (listed.items as T[]).map(cachedForm), resourceVersion: listed.resourceVersion };
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
            (event) => onEvent(event.type as WatchEventType, cachedForm(event.object as T)),
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
