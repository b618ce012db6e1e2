/**
 * What happens to custom resources when something else goes, done in the server because the
 * controllers follow a fixed set of built-in kinds: objects that a deleted custom resource owned
 * (by ownerReferences uid) are deleted, or lose that reference when they have other owners, as
 * the garbage collector does in the background; and custom resources in a namespace being deleted
 * are deleted with it, as upstream's namespace controller deletes every kind it discovers.
 */
import type { Logger } from 'pino';
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Registry } from '../api/registry.ts';
import { findResource, type ResourceInfo, servedResources } from '../api/resources.ts';

/** Kinds never owned by anything worth collecting, and too many to scan on every delete. */
const neverDependents = new Set(['/events', 'events.k8s.io/events', 'apiextensions.k8s.io/customresourcedefinitions']);

const ignoreNotFound = (err: unknown) => {
  if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
};

/** The references a dependent keeps once `uid` is gone; undefined when it has no other owner. */
export function referencesWithout(
  object: KubeObject,
  uid: string,
): KubeObject['metadata']['ownerReferences'] | undefined {
  const others = (object.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
  return others.length === 0 ? undefined : others;
}

export class CustomResourceLifecycle {
  readonly #registry: Registry;
  readonly #logger: Logger;
  /** One watch per custom resource's storage version, by storage name. */
  readonly #watches = new Map<string, { cancel(): void }>();
  #namespaces: { cancel(): void } | undefined;
  readonly #terminating = new Set<string>();

  constructor(registry: Registry, logger: Logger) {
    this.#registry = registry;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    const namespaces = findResource('', 'v1', 'namespaces')!;
    const revision = await this.#registry.currentRevision(namespaces);
    this.#namespaces = await this.#registry.watch(
      namespaces,
      undefined,
      revision,
      {},
      (event) => {
        const name = event.object.metadata.name ?? '';
        if (event.type !== 'DELETED' && event.object.metadata.deletionTimestamp !== undefined) {
          this.#terminating.add(name);
          void this.#emptyNamespace(name);
        } else this.#terminating.delete(name);
      },
      (err) => this.#logger.warn({ err }, 'namespace watch for custom resources failed'),
    );
  }

  stop(): void {
    this.#namespaces?.cancel();
    for (const watch of this.#watches.values()) watch.cancel();
    this.#watches.clear();
  }

  #following: Promise<void> = Promise.resolve();

  /** Follows deletions of the custom resources served now (one watch per storage); called on every change, one at a time. */
  follow(served: readonly ResourceInfo[]): Promise<void> {
    this.#following = this.#following.then(() => this.#follow(served));
    return this.#following;
  }

  async #follow(served: readonly ResourceInfo[]): Promise<void> {
    const byStorage = new Map(served.map((info) => [info.storageName, info]));
    for (const [storage, watch] of this.#watches) {
      if (byStorage.has(storage)) continue;
      watch.cancel();
      this.#watches.delete(storage);
    }
    for (const [storage, info] of byStorage) {
      if (this.#watches.has(storage)) continue;
      const revision = await this.#registry.currentRevision(info);
      const watch = await this.#registry.watch(
        info,
        undefined,
        revision,
        {},
        (event) => {
          if (event.type === 'DELETED') void this.#collectDependents(event.object);
        },
        (err) => this.#logger.warn({ err, resource: storage }, 'custom resource watch failed'),
      );
      this.#watches.set(storage, watch);
    }
    for (const namespace of this.#terminating) void this.#emptyNamespace(namespace);
  }

  /** Deletes, or releases, what the deleted object owned (in its namespace, or cluster-wide). */
  async #collectDependents(owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid;
    if (uid === undefined) return;
    const namespace = owner.metadata.namespace;
    try {
      for (const info of servedResources()) {
        if (!info.verbs.includes('list') || neverDependents.has(`${info.group}/${info.resource}`)) continue;
        if (namespace === undefined && info.namespaced) continue;
        const items = (await this.#registry.list(info, info.namespaced ? namespace : undefined)).items;
        for (const dependent of items) {
          if (!(dependent.metadata.ownerReferences ?? []).some((ref) => ref.uid === uid)) continue;
          const kept = referencesWithout(dependent, uid);
          if (kept === undefined) {
            await this.#registry
              .delete(info, dependent.metadata.namespace, dependent.metadata.name ?? '', {
                propagationPolicy: 'Background',
              })
              .catch(ignoreNotFound);
          } else {
            await this.#registry
              .guaranteedUpdate(
                info,
                dependent.metadata.namespace,
                dependent.metadata.name ?? '',
                undefined,
                (current) => ({
                  ...current,
                  metadata: { ...current.metadata, ownerReferences: referencesWithout(current, uid) ?? [] },
                }),
              )
              .catch(ignoreNotFound);
          }
        }
      }
    } catch (err) {
      this.#logger.warn({ err, uid }, 'collecting the dependents of a custom resource failed');
    }
  }

  /** Deletes the custom resources of a namespace being deleted. */
  async #emptyNamespace(namespace: string): Promise<void> {
    try {
      const seen = new Set<string>();
      for (const info of servedResources()) {
        if (info.custom === undefined || !info.namespaced || seen.has(info.storageName)) continue;
        seen.add(info.storageName);
        for (const object of (await this.#registry.list(info, namespace)).items) {
          if (object.metadata.deletionTimestamp !== undefined) continue;
          await this.#registry.delete(info, namespace, object.metadata.name ?? '').catch(ignoreNotFound);
        }
      }
    } catch (err) {
      this.#logger.warn({ err, namespace }, 'deleting the custom resources of a namespace failed');
    }
  }
}
