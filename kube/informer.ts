/**
 * An informer: keeps a local cache of one collection in step with the server (list, then watch
 * from the list's resourceVersion), tells handlers about adds, updates and deletes, replays every
 * cached object as an update each resync period, and starts over with a fresh list when the
 * server says its history has moved on (410) - reporting objects that vanished meanwhile as deleted.
 *
 * Lifecycle: the constructor does nothing; run() starts it; synced resolves after the first list;
 * stop() ends it (idempotent).
 */
import { isApiError } from './errors.ts';
import type { KubeClient } from './client.ts';
import type { ResourceRef } from './resource-ref.ts';
import type { KubeObject } from './types.ts';

export interface InformerHandlers<T extends KubeObject> {
  onAdd?(object: T): void;
  onUpdate?(previous: T, current: T): void;
  onDelete?(object: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Replay the whole cache as updates this often (0: never). */
  resyncMs?: number;
  /** Pause before retrying after an error (doubles up to 30 s). */
  retryMs?: number;
  /** Server-side watch duration before it is renewed. */
  watchTimeoutSeconds?: number;
}

export function cacheKey(object: KubeObject): string {
  return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : (object.metadata.name ?? '');
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly #client: KubeClient;
  readonly #ref: ResourceRef;
  readonly #options: InformerOptions;
  readonly #handlers: InformerHandlers<T>[] = [];
  readonly #cache = new Map<string, T>();
  readonly #abort = new AbortController();
  /** Ends the current watch only (resumeWatch); replaced for each watch. */
  #watchAbort = new AbortController();
  #resourceVersion = '';
  #running = false;
  #resolveSynced!: () => void;
  /** Resolves once the first list is in the cache. */
  readonly synced: Promise<void>;
  /** How many times the informer listed (1 + relists after 410 or errors); for tests and metrics. */
  lists = 0;

  constructor(client: KubeClient, ref: ResourceRef, options: InformerOptions = {}) {
    this.#client = client;
    this.#ref = ref;
    this.#options = options;
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  #emit(kind: 'add' | 'update' | 'delete', a: T, b?: T): void {
    for (const h of this.#handlers) {
      try {
        if (kind === 'add') h.onAdd?.(a);
        else if (kind === 'update') h.onUpdate?.(a, b!);
        else h.onDelete?.(a);
      } catch {
        // A handler's failure must not stop the informer or the other handlers.
      }
    }
  }

  /**
   * Lists as upstream's reflector does: the first list and a relist after an error may be answered
   * from the server's memory (resourceVersion "0", or not older than what this informer has seen),
   * which spares the datastore a full read per client when many restart at once; after a 410 the
   * list is a fresh read of the newest state.
   */
  async #relist(fresh: boolean): Promise<void> {
    const list = await this.#client.list<T>(this.#ref, {
      ...(fresh ? {} : { resourceVersion: this.#resourceVersion || '0' }),
      ...(this.#options.namespace ? { namespace: this.#options.namespace } : {}),
      ...(this.#options.labelSelector ? { labelSelector: this.#options.labelSelector } : {}),
      ...(this.#options.fieldSelector ? { fieldSelector: this.#options.fieldSelector } : {}),
    });
    this.lists++;
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = cacheKey(item);
      seen.add(key);
      const previous = this.#cache.get(key);
      this.#cache.set(key, item);
      if (previous === undefined) this.#emit('add', item);
      else if (previous.metadata.resourceVersion !== item.metadata.resourceVersion) this.#emit('update', previous, item);
    }
    for (const [key, object] of [...this.#cache]) {
      if (!seen.has(key)) {
        this.#cache.delete(key);
        this.#emit('delete', object);
      }
    }
    this.#resourceVersion = list.metadata.resourceVersion ?? '';
    this.#resolveSynced();
  }

  async #watchOnce(): Promise<void> {
    this.#watchAbort = new AbortController();
    const events = this.#client.watch<T>(this.#ref, {
      ...(this.#options.namespace ? { namespace: this.#options.namespace } : {}),
      ...(this.#options.labelSelector ? { labelSelector: this.#options.labelSelector } : {}),
      ...(this.#options.fieldSelector ? { fieldSelector: this.#options.fieldSelector } : {}),
      resourceVersion: this.#resourceVersion,
      allowBookmarks: true,
      timeoutSeconds: this.#options.watchTimeoutSeconds ?? 300,
      signal: AbortSignal.any([this.#abort.signal, this.#watchAbort.signal]),
    });
    for await (const event of events) {
      const object = event.object;
      if (object.metadata.resourceVersion) this.#resourceVersion = object.metadata.resourceVersion;
      if (event.type === 'BOOKMARK') continue;
      const key = cacheKey(object);
      const previous = this.#cache.get(key);
      if (event.type === 'DELETED') {
        this.#cache.delete(key);
        this.#emit('delete', object);
      } else {
        this.#cache.set(key, object);
        if (previous === undefined) this.#emit('add', object);
        else this.#emit('update', previous, object);
      }
    }
  }

  /** Runs until stop(); never throws (errors are retried with backoff). */
  async run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const resync = this.#options.resyncMs
      ? setInterval(() => {
          for (const object of this.#cache.values()) this.#emit('update', object, object);
        }, this.#options.resyncMs)
      : undefined;
    const baseRetry = this.#options.retryMs ?? 500;
    let retry = baseRetry;
    let needList = true;
    let fresh = false;
    try {
      while (!this.#abort.signal.aborted) {
        try {
          if (needList) await this.#relist(fresh);
          needList = false;
          fresh = false;
          await this.#watchOnce();
          retry = baseRetry;
        } catch (err) {
          if (this.#abort.signal.aborted) break;
          // resumeWatch(): watch again at once from where this one was (what it missed is replayed)
          if (this.#watchAbort.signal.aborted) continue;
          // 410: our resourceVersion is older than the server's history; start from a new list.
          if (isApiError(err, 'Expired') || isApiError(err, 'Gone')) {
            needList = true;
            fresh = true;
            continue;
          }
          needList = true;
          await new Promise((r) => setTimeout(r, retry));
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
