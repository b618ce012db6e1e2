/**
 * The informer, the one in the tree: keeps a local cache of one collection in step with its source
 * (list, then watch from the list's resourceVersion), tells handlers about adds, updates and
 * deletes, replays every cached object as an update each resync period, and starts over with a
 * fresh list when the source says its history has moved on (410) - reporting objects that vanished
 * meanwhile as deleted. Where it lists and watches is a small seam (ListWatch): the API through a
 * KubeClient (the agent, the DNS and the proxy), or the controllers' ClusterClient (the API in a
 * server, an in-memory cluster in tests).
 *
 * Lifecycle: the constructor does nothing; run() (or start(), which waits for the first list and
 * watch) starts it; synced resolves after the first list; stop() ends it (idempotent).
 */
import { BucketIndex } from './bucket-index.ts';
import { isApiError } from './errors.ts';
import type { KubeClient } from './client.ts';
import type { ResourceRef } from './resource-ref.ts';
import type { KubeObject } from './types.ts';

interface InformerHandlers<T extends KubeObject> {
  onAdd?(object: T): void;
  onUpdate?(previous: T, current: T): void;
  onDelete?(object: T): void;
}

/** Which objects of a collection an API informer keeps, and how long one watch lasts. */
interface ApiSelection {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch duration before it is renewed. */
  watchTimeoutSeconds?: number;
}

interface InformerOptions<T> {
  /** Replay the whole cache as updates this often (0: never). */
  resyncMs?: number;
  /** Pause before retrying after an error (doubles up to 30 s). */
  retryMs?: number;
  /** Named groupings kept current with the cache (see InformerCache). */
  indexers?: Record<string, (object: T) => string | undefined>;
  /** Told about every failed list or watch (retried regardless) and every handler that threw. */
  onError?: (err: unknown) => void;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/** Where an informer lists and watches one collection. */
export interface ListWatch<T extends KubeObject> {
  /**
   * The whole collection. `resourceVersion` ("0" or one already seen) lets the source answer from
   * its memory; absent, the newest state is read.
   */
  list(options: { resourceVersion?: string }): Promise<{ items: T[]; resourceVersion: string }>;
  /**
   * Delivers events after `resourceVersion` until the watch ends: resolves when the source ends it
   * normally (a server-side timeout), rejects when it breaks (410 Gone included), resolves at once
   * when `signal` aborts. Calls `started` once the watch is in place.
   */
  watch(
    resourceVersion: string,
    onEvent: (type: WatchEventType, object: T) => void,
    signal: AbortSignal,
    started: () => void,
  ): Promise<void>;
}

/** A ListWatch over the API: one resource, optionally narrowed, through a KubeClient. */
export function apiListWatch<T extends KubeObject>(
  client: KubeClient,
  ref: ResourceRef,
  selection: ApiSelection = {},
): ListWatch<T> {
  const narrowed = {
    ...(selection.namespace ? { namespace: selection.namespace } : {}),
    ...(selection.labelSelector ? { labelSelector: selection.labelSelector } : {}),
    ...(selection.fieldSelector ? { fieldSelector: selection.fieldSelector } : {}),
  };
  return {
    async list(options) {
      const list = await client.list<T>(ref, { ...options, ...narrowed });
      return { items: list.items, resourceVersion: list.metadata.resourceVersion ?? '' };
    },
    async watch(resourceVersion, onEvent, signal, started) {
      const events = client.watch<T>(ref, {
        ...narrowed,
        resourceVersion,
        allowBookmarks: true,
        timeoutSeconds: selection.watchTimeoutSeconds ?? 300,
        signal,
      });
      started();
      for await (const event of events) onEvent(event.type as WatchEventType, event.object);
    },
  };
}

function cacheKey(object: KubeObject): string {
  return object.metadata.namespace
    ? `${object.metadata.namespace}/${object.metadata.name}`
    : (object.metadata.name ?? '');
}

interface InformerCacheOptions<T> {
  /** Named groupings kept current with the cache (upstream's Indexers): name -> the group of an object, undefined for none. */
  indexers?: Record<string, (object: T) => string | undefined>;
  /** Told about a handler that threw (the other handlers and the cache carry on regardless). */
  onError?: (err: unknown) => void;
}

/**
 * What every informer keeps, whatever it lists and watches through: the objects by key, their
 * indexes, and the handlers told about each change. Every informer in the tree (the agent's over
 * the API, the controllers' over a ClusterClient) feeds list results and watch events in here, so
 * they agree on keys, on which events count as changes, and on how handlers are called.
 */
class InformerCache<T extends KubeObject> {
  readonly #objects = new Map<string, T>();
  readonly #indexes = new Map<string, BucketIndex<T>>();
  readonly #handlers: InformerHandlers<T>[] = [];
  readonly #onError: ((err: unknown) => void) | undefined;

  constructor(options: InformerCacheOptions<T> = {}) {
    for (const [name, groupOf] of Object.entries(options.indexers ?? {}))
      this.#indexes.set(name, new BucketIndex(groupOf));
    this.#onError = options.onError;
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
  }

  get(key: string): T | undefined {
    return this.#objects.get(key);
  }

  list(): T[] {
    return [...this.#objects.values()];
  }

  /** The objects whose indexer `name` puts them in `group`. */
  byIndex(name: string, group: string): T[] {
    return this.#indexes.get(name)?.get(group) ?? [];
  }

  /** A watch event. A repeated event (same resourceVersion) or the delete of an unknown object changes nothing. */
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void {
    const key = cacheKey(object);
    const previous = this.#objects.get(key);
    if (type === 'DELETED') {
      if (previous === undefined) return;
      this.#set(key, previous, undefined);
      this.#notify((h) => h.onDelete?.(object));
      return;
    }
    if (previous !== undefined && previous.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.#set(key, previous, object);
    this.#notify((h) => (previous === undefined ? h.onAdd?.(object) : h.onUpdate?.(previous, object)));
  }

  /** A full list: every item is stored (as an add or a change), and what the list no longer has is deleted. */
  replace(items: readonly T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(cacheKey(item));
      this.apply(this.#objects.has(cacheKey(item)) ? 'MODIFIED' : 'ADDED', item);
    }
    for (const [key, object] of [...this.#objects]) {
      if (!seen.has(key)) this.apply('DELETED', object);
    }
  }

  /** Tells the handlers about every cached object again, as an update to itself (a periodic resync). */
  resync(): void {
    for (const object of this.#objects.values()) this.#notify((h) => h.onUpdate?.(object, object));
  }

  #set(key: string, before: T | undefined, after: T | undefined): void {
    if (after === undefined) this.#objects.delete(key);
    else this.#objects.set(key, after);
    for (const index of this.#indexes.values()) index.update(key, before, after);
  }

  /** One failing handler must not keep the others (or the cache) from seeing the change. */
  #notify(call: (handlers: InformerHandlers<T>) => void): void {
    for (const handlers of this.#handlers) {
      try {
        call(handlers);
      } catch (err) {
        this.#onError?.(err);
      }
    }
  }
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly #source: ListWatch<T>;
  readonly #options: InformerOptions<T>;
  readonly #cache: InformerCache<T>;
  readonly #abort = new AbortController();
  /** Ends the current watch only (resumeWatch); replaced for each watch. */
  #watchAbort = new AbortController();
  #resourceVersion = '';
  #running: Promise<void> | undefined;
  #hasSynced = false;
  #resolveSynced!: () => void;
  #resolveWatching!: () => void;
  /** Resolves once the first list is in the cache. */
  readonly synced: Promise<void>;
  /** Resolves once the first watch is in place after the first list. */
  readonly #watching: Promise<void>;
  /** How many times the informer listed (1 + relists after 410 or errors); for tests and metrics. */
  lists = 0;

  constructor(source: ListWatch<T>, options: InformerOptions<T> = {}) {
    this.#source = source;
    this.#options = options;
    this.#cache = new InformerCache<T>({
      ...(options.indexers ? { indexers: options.indexers } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
    this.#watching = new Promise((resolve) => (this.#resolveWatching = resolve));
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.#cache.addHandlers(handlers);
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return this.#cache.list();
  }

  /** The objects whose indexer `name` puts them in `group`. */
  byIndex(name: string, group: string): T[] {
    return this.#cache.byIndex(name, group);
  }

  /** Whether the first list is in (for callers that cannot await `synced`). */
  get hasSynced(): boolean {
    return this.#hasSynced;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /**
   * Lists as upstream's reflector does: the first list and a relist after an error may be answered
   * from the server's memory (resourceVersion "0", or not older than what this informer has seen),
   * which spares the datastore a full read per client when many restart at once; after a 410 the
   * list is a fresh read of the newest state.
   */
  async #relist(fresh: boolean): Promise<void> {
    const list = await this.#source.list(fresh ? {} : { resourceVersion: this.#resourceVersion || '0' });
    this.lists++;
    this.#cache.replace(list.items);
    this.#resourceVersion = list.resourceVersion;
    this.#hasSynced = true;
    this.#resolveSynced();
  }

  async #watchOnce(): Promise<void> {
    this.#watchAbort = new AbortController();
    await this.#source.watch(
      this.#resourceVersion,
      (type, object) => {
        if (object.metadata.resourceVersion) this.#resourceVersion = object.metadata.resourceVersion;
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.#cache.apply(type, object);
      },
      AbortSignal.any([this.#abort.signal, this.#watchAbort.signal]),
      () => this.#resolveWatching(),
    );
  }

  /** Runs until stop(); never throws (errors are retried with backoff). */
  run(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  /** Starts the informer and resolves once the first list is cached and the watch after it in place. */
  async start(): Promise<void> {
    // stopped before it started (its owner gave up on it): an abort listener added now never fires
    if (this.#abort.signal.aborted) return;
    void this.run();
    await Promise.race([
      this.#watching,
      new Promise<void>((resolve) => this.#abort.signal.addEventListener('abort', () => resolve(), { once: true })),
    ]);
  }

  async #loop(): Promise<void> {
    const resync = this.#options.resyncMs ? setInterval(() => this.#cache.resync(), this.#options.resyncMs) : undefined;
    const baseRetry = this.#options.retryMs ?? 500;
    let retry = baseRetry;
    let needList = true;
    let fresh = false;
    try {
      while (!this.#abort.signal.aborted) {
        let watching = false;
        try {
          if (needList) await this.#relist(fresh);
          needList = false;
          fresh = false;
          if (this.#abort.signal.aborted) break;
          watching = true;
          await this.#watchOnce();
          retry = baseRetry;
        } catch (err) {
          if (this.#abort.signal.aborted) break;
          // resumeWatch(): watch again at once from where this one was (what it missed is replayed)
          if (this.#watchAbort.signal.aborted) continue;
          // 410: our resourceVersion is older than the source's history; start from a new list.
          if (isApiError(err, 'Expired') || isApiError(err, 'Gone')) {
            needList = true;
            fresh = true;
            continue;
          }
          this.#options.onError?.(err);
          // A broken watch starts again from its resourceVersion, as upstream's reflector does: when a
          // server dies, its clients resume on another without listing everything again (a 410 there
          // still relists). A failed list is listed again.
          needList = !watching || this.#resourceVersion === '';
          await new Promise<void>((resolve) => {
            const signal = this.#abort.signal;
            const done = () => {
              clearTimeout(timer);
              signal.removeEventListener('abort', done);
              resolve();
            };
            const timer = setTimeout(done, retry);
            signal.addEventListener('abort', done, { once: true });
          });
          retry = Math.min(retry * 2, 30_000);
        }
      }
    } finally {
      if (resync) clearInterval(resync);
    }
  }

  /**
   * Ends the current watch and starts the next at once from the last resourceVersion seen. For a
   * caller that knows the connection may be dead without either end having noticed (a network
   * partition that healed: the server's writes into it are lost until TCP gives up, which takes
   * minutes), so that what changed meanwhile arrives now.
   */
  resumeWatch(): void {
    this.#watchAbort.abort();
  }

  stop(): void {
    this.#abort.abort();
  }
}
