/**
 * What happens to custom resources when something else goes, done in the server because the
 * controllers follow a fixed set of built-in kinds: objects that a deleted custom resource owned
 * (by ownerReferences uid) are deleted, or lose that reference when they have other owners, as
 * the garbage collector does in the background (or first, for a foreground deletion; or released,
 * for an orphaning one); custom resources whose owners are gone, of any kind, are deleted or
 * released by a sweep; and custom resources in a namespace being deleted are deleted with it, as
 * upstream's namespace controller deletes every kind it discovers.
 */
import type { Logger } from 'pino';
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject, OwnerReference } from '../../kube/types.ts';
import type { Registry } from '../api/registry.ts';
import { foregroundFinalizer, orphanFinalizer } from '../api/delete-propagation.ts';
import { findResource, type ResourceInfo, resourceByKind, servedResources } from '../api/resources.ts';

/** How often custom resources are checked for owners that are gone. */
const ownerSweepMs = 5_000;

/** How often a foreground deletion looks again at dependents that are still going. */
const propagationRetryMs = 500;

/** Kinds never owned by anything worth collecting, and too many to scan on every delete. */
const neverDependents = new Set(['/events', 'events.k8s.io/events', 'apiextensions.k8s.io/customresourcedefinitions']);

const ignoreNotFound = (err: unknown) => {
  if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
};

/** The references a dependent keeps once `uid` is gone; undefined when it has no other owner. */
function referencesWithout(object: KubeObject, uid: string): KubeObject['metadata']['ownerReferences'] | undefined {
  const others = (object.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
  return others.length === 0 ? undefined : others;
}

/** Metadata with these owners; without the field when none is left (as upstream stores it). */
function withOwners(
  metadata: KubeObject['metadata'],
  owners: KubeObject['metadata']['ownerReferences'],
): KubeObject['metadata'] {
  const { ownerReferences: _gone, ...rest } = metadata;
  return owners === undefined ? rest : { ...rest, ownerReferences: owners };
}

/** Whether objects of this resource are read without a conversion webhook call (its storage version, or no webhook). */
const readsAsStored = (info: ResourceInfo): boolean =>
  info.custom?.conversion === undefined || info.custom.conversion.storageApiVersion === `${info.group}/${info.version}`;

/**
 * Each custom resource once, in the version it is stored in when that one is served (reading it
 * needs no conversion webhook: only metadata matters here), else its first served version;
 * built-in resources as they are.
 */
function oncePerCustomResource(infos: readonly ResourceInfo[]): ResourceInfo[] {
  const chosen = new Map<string, ResourceInfo>();
  for (const info of infos) {
    if (info.custom === undefined) continue;
    const before = chosen.get(info.storageName);
    if (before === undefined || (!readsAsStored(before) && readsAsStored(info))) chosen.set(info.storageName, info);
  }
  return infos.filter((info) => info.custom === undefined || chosen.get(info.storageName) === info);
}

export class CustomResourceLifecycle {
  readonly #registry: Registry;
  readonly #logger: Logger;
  /** One watch per custom resource's storage version, by storage name. */
  readonly #watches = new Map<string, { cancel(): void }>();
  #namespaces: { cancel(): void } | undefined;
  readonly #terminating = new Set<string>();
  #sweeper: NodeJS.Timeout | undefined;
  #sweeping = false;

  constructor(registry: Registry, logger: Logger) {
    this.#registry = registry;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    this.#sweeper = setInterval(() => void this.#sweep(), ownerSweepMs);
    this.#sweeper.unref();
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
    clearInterval(this.#sweeper);
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
    const byStorage = new Map(oncePerCustomResource(served).map((info) => [info.storageName, info]));
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
          else void this.#finishPropagation(info, event.object);
        },
        (err) => this.#logger.warn({ err, resource: storage }, 'custom resource watch failed'),
      );
      this.#watches.set(storage, watch);
    }
    for (const namespace of this.#terminating) void this.#emptyNamespace(namespace);
  }

  /** The objects that name `owner` among their owners (in its namespace, or cluster-wide). */
  async #dependentsOf(owner: KubeObject): Promise<{ info: ResourceInfo; object: KubeObject }[]> {
    const uid = owner.metadata.uid;
    const namespace = owner.metadata.namespace;
    const found: { info: ResourceInfo; object: KubeObject }[] = [];
    for (const info of oncePerCustomResource(servedResources())) {
      if (!info.verbs.includes('list') || neverDependents.has(`${info.group}/${info.resource}`)) continue;
      if (namespace === undefined && info.namespaced) continue;
      for (const object of (await this.#registry.list(info, info.namespaced ? namespace : undefined)).items)
        if ((object.metadata.ownerReferences ?? []).some((ref) => ref.uid === uid)) found.push({ info, object });
    }
    return found;
  }

  #release(info: ResourceInfo, dependent: KubeObject, uid: string): Promise<unknown> {
    return this.#registry
      .guaranteedUpdate(info, dependent.metadata.namespace, dependent.metadata.name ?? '', undefined, (current) => ({
        ...current,
        metadata: withOwners(current.metadata, referencesWithout(current, uid)),
      }))
      .catch(ignoreNotFound);
  }

  #deleteDependent(info: ResourceInfo, dependent: KubeObject): Promise<unknown> {
    return this.#registry
      .delete(info, dependent.metadata.namespace, dependent.metadata.name ?? '', { propagationPolicy: 'Background' })
      .catch(ignoreNotFound);
  }

  /** Background deletion: what the deleted object owned goes too, or only loses it as an owner when it has others. */
  async #collectDependents(owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid;
    if (uid === undefined) return;
    try {
      for (const { info, object } of await this.#dependentsOf(owner)) {
        if (referencesWithout(object, uid) === undefined) await this.#deleteDependent(info, object);
        else await this.#release(info, object, uid);
      }
    } catch (err) {
      this.#logger.warn({ err, uid }, 'collecting the dependents of a custom resource failed');
    }
  }

  /**
   * A custom resource deleted with --cascade=orphan or foreground carries the `orphan` or
   * `foregroundDeletion` finalizer: its dependents are released, or deleted and waited for, then
   * the finalizer goes (what the garbage collector does for the kinds it follows).
   */
  async #finishPropagation(info: ResourceInfo, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid;
    const finalizers = owner.metadata.finalizers ?? [];
    const orphan = finalizers.includes(orphanFinalizer);
    if (uid === undefined || owner.metadata.deletionTimestamp === undefined) return;
    if (!orphan && !finalizers.includes(foregroundFinalizer)) return;
    try {
      const dependents = await this.#dependentsOf(owner);
      for (const { info: dependentInfo, object } of dependents) {
        if (orphan || referencesWithout(object, uid) !== undefined) await this.#release(dependentInfo, object, uid);
        else if (object.metadata.deletionTimestamp === undefined) await this.#deleteDependent(dependentInfo, object);
      }
      if (!orphan && (await this.#dependentsOf(owner)).length > 0) {
        setTimeout(() => void this.#finishPropagation(info, owner), propagationRetryMs).unref();
        return;
      }
      const done = orphan ? orphanFinalizer : foregroundFinalizer;
      await this.#registry
        .guaranteedUpdate(info, owner.metadata.namespace, owner.metadata.name ?? '', undefined, (current) => ({
          ...current,
          metadata: { ...current.metadata, finalizers: (current.metadata.finalizers ?? []).filter((f) => f !== done) },
        }))
        .catch(ignoreNotFound);
    } catch (err) {
      this.#logger.warn({ err, uid }, 'finishing the deletion of a custom resource failed');
    }
  }

  /** Whether the owner a reference names is gone (a kind not served here is assumed to exist). */
  async #ownerGone(dependent: KubeObject, ref: OwnerReference): Promise<boolean> {
    const info = resourceByKind(ref.apiVersion, ref.kind);
    if (info === undefined) return false;
    try {
      const owner = await this.#registry.get(
        info,
        info.namespaced ? dependent.metadata.namespace : undefined,
        ref.name,
      );
      return owner.metadata.uid !== ref.uid;
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'NotFound') return true;
      throw err;
    }
  }

  /**
   * Custom resources whose owners are gone (a built-in owner's deletion reaches no watch here):
   * deleted when every owner is gone, else released from the gone ones. Every ownerSweepMs.
   */
  async #sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      for (const info of oncePerCustomResource(servedResources())) {
        if (info.custom === undefined) continue;
        for (const object of (await this.#registry.list(info, undefined)).items) {
          const refs = object.metadata.ownerReferences ?? [];
          if (refs.length === 0 || object.metadata.deletionTimestamp !== undefined) continue;
          const gone: string[] = [];
          for (const ref of refs) if (await this.#ownerGone(object, ref)) gone.push(ref.uid);
          if (gone.length === refs.length) await this.#deleteDependent(info, object);
          else for (const uid of gone) await this.#release(info, object, uid);
        }
      }
    } catch (err) {
      this.#logger.warn({ err }, 'looking for custom resources whose owners are gone failed');
    } finally {
      this.#sweeping = false;
    }
  }

  /** Deletes the custom resources of a namespace being deleted. */
  async #emptyNamespace(namespace: string): Promise<void> {
    try {
      for (const info of oncePerCustomResource(servedResources())) {
        if (info.custom === undefined || !info.namespaced) continue;
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
