/**
 * An in-memory copy of one resource kept current by a datastore watch, for lookups that admission
 * makes on every write (namespaces, LimitRanges, ResourceQuotas). A miss is answered by a live read,
 * so an object created a moment ago is never reported missing; if the watch fails the cache
 * rebuilds itself and reads go live meanwhile. An optional index (pods by node) answers
 * `indexed(value)` from memory.
 *
 * Each object is held once: the one the shared watch decoded for every watcher of its change is
 * the one kept here, and the one a read hands out. A cache made `frozen` freezes what it holds,
 * through and through, so that no reader (a list served from memory, an authorizer, a watcher of
 * the same change) can change what the others read, and shares what its objects have in common
 * (frozen-form.ts); a cache whose readers are not known to treat objects as read-only is left
 * unfrozen.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { WatchHandle } from '../storage/store.ts';
import { BucketIndex } from '../../kube/bucket-index.ts';
import { FrozenForms } from './frozen-form.ts';
import { keepTrying } from './keep-trying.ts';
import type { Registry } from './registry.ts';
import type { ResourceInfo } from './resources.ts';

export class ObjectCache {
  readonly #registry: Registry;
  readonly #info: ResourceInfo;
  readonly #objects = new Map<string, KubeObject>();
  /** By the index value, when the cache has one. */
  readonly #index: BucketIndex<KubeObject> | undefined;
  #handle: WatchHandle | undefined;
  /** Every change at or below this revision is in the objects. */
  #revision = 0;
  #ready = false;
  #stopped = false;
  readonly #listeners: Array<(object: KubeObject) => void> = [];

  /** Set for a frozen cache: how its objects are shared and frozen. */
  readonly #frozen: FrozenForms | undefined;

  constructor(
    registry: Registry,
    info: ResourceInfo,
    indexBy?: (object: KubeObject) => string | undefined,
    options: { frozen?: boolean } = {},
  ) {
    this.#registry = registry;
    this.#info = info;
    this.#index = indexBy === undefined ? undefined : new BucketIndex(indexBy);
    this.#frozen = options.frozen ? new FrozenForms() : undefined;
  }

  #put(key: string, object: KubeObject | undefined): void {
    if (object !== undefined) this.#frozen?.freeze(object);
    const before = this.#objects.get(key);
    if (object === undefined) this.#objects.delete(key);
    else this.#objects.set(key, object);
    this.#index?.update(key, before, object);
  }

  /** Objects whose index value is `value`, from memory; undefined when the cache is not current (read live then). */
  indexed(value: string): KubeObject[] | undefined {
    if (!this.#ready) return undefined;
    return this.#index?.get(value) ?? [];
  }

  /**
   * Like indexed(), with the revision the answer is current at (every change up to it is in it), for
   * lists served from memory; undefined when the cache is not current.
   */
  indexedAt(value: string): { items: KubeObject[]; revision: number } | undefined {
    const items = this.indexed(value);
    return items === undefined ? undefined : { items, revision: this.#revision };
  }

  #key(namespace: string | undefined, name: string): string {
    return this.#info.namespaced ? `${namespace ?? ''}/${name}` : name;
  }

  /** Lists, then follows changes from the list's revision. */
  async start(): Promise<void> {
    const list = await this.#registry.list(this.#info, undefined);
    this.#objects.clear();
    this.#index?.clear();
    for (const object of list.items)
      this.#put(this.#key(object.metadata.namespace, object.metadata.name ?? ''), object);
    this.#revision = Number(list.metadata.resourceVersion);
    this.#handle = await this.#registry.watch(
      this.#info,
      undefined,
      Number(list.metadata.resourceVersion),
      {},
      (event) => {
        const key = this.#key(event.object.metadata.namespace, event.object.metadata.name ?? '');
        this.#put(key, event.type === 'DELETED' ? undefined : event.object);
        for (const listener of this.#listeners) listener(event.object);
      },
      () => {
        this.#ready = false;
        void this.#rebuild();
      },
      (revision) => {
        this.#revision = revision;
      },
    );
    this.#ready = true;
  }

  async #rebuild(): Promise<void> {
    this.#handle?.cancel();
    await keepTrying(
      () => this.start(),
      () => this.#stopped,
    );
  }

  /** Calls `listener` with each object that changes (added, modified or deleted) after the cache started. */
  onChange(listener: (object: KubeObject) => void): void {
    this.#listeners.push(listener);
  }

  stop(): void {
    this.#stopped = true;
    this.#ready = false;
    this.#handle?.cancel();
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const cached = this.#ready ? this.#objects.get(this.#key(namespace, name)) : undefined;
    if (cached) return cached;
    try {
      return await this.#registry.get(this.#info, namespace, name);
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
      throw err;
    }
  }

  /** Every object (of a cluster-scoped resource, or in all namespaces); from memory when current. */
  async listAll(): Promise<KubeObject[]> {
    if (!this.#ready) return (await this.#registry.list(this.#info, undefined)).items;
    return [...this.#objects.values()];
  }

  /** Objects in a namespace; from memory when the cache is current, else read live. */
  async listIn(namespace: string): Promise<KubeObject[]> {
    if (!this.#ready) return (await this.#registry.list(this.#info, namespace)).items;
    return [...this.#objects.values()].filter((o) => (o.metadata.namespace ?? '') === namespace);
  }
}
