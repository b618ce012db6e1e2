/**
 * An in-memory copy of one resource kept current by a datastore watch, for lookups that admission
 * makes on every write (namespaces, LimitRanges, ResourceQuotas). A miss is answered by a live read,
 * so an object created a moment ago is never reported missing; if the watch fails the cache
 * rebuilds itself and reads go live meanwhile.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { WatchHandle } from '../storage/store.ts';
import { keepTrying } from './keep-trying.ts';
import type { Registry } from './registry.ts';
import type { ResourceInfo } from './resources.ts';

export class ObjectCache {
  readonly #registry: Registry;
  readonly #info: ResourceInfo;
  readonly #objects = new Map<string, KubeObject>();
  #handle: WatchHandle | undefined;
  #ready = false;
  #stopped = false;

  constructor(registry: Registry, info: ResourceInfo) {
    this.#registry = registry;
    this.#info = info;
  }

  #key(namespace: string | undefined, name: string): string {
    return this.#info.namespaced ? `${namespace ?? ''}/${name}` : name;
  }

  /** Lists, then follows changes from the list's revision. */
  async start(): Promise<void> {
    const list = await this.#registry.list(this.#info, undefined);
    this.#objects.clear();
    for (const object of list.items) this.#objects.set(this.#key(object.metadata.namespace, object.metadata.name ?? ''), object);
    this.#handle = await this.#registry.watch(
      this.#info,
      undefined,
      Number(list.metadata.resourceVersion),
      {},
      (event) => {
        const key = this.#key(event.object.metadata.namespace, event.object.metadata.name ?? '');
        if (event.type === 'DELETED') this.#objects.delete(key);
        else this.#objects.set(key, event.object);
      },
      () => {
        this.#ready = false;
        void this.#rebuild();
      },
    );
    this.#ready = true;
  }

  async #rebuild(): Promise<void> {
    this.#handle?.cancel();
    await keepTrying(() => this.start(), () => this.#stopped);
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

  /** Objects in a namespace; from memory when the cache is current, else read live. */
  async listIn(namespace: string): Promise<KubeObject[]> {
    if (!this.#ready) return (await this.#registry.list(this.#info, namespace)).items;
    return [...this.#objects.values()].filter((o) => o.metadata.namespace === namespace);
  }
}
