/**
 * In-process delivery of committed changes to watchers, for a backend that commits in this process.
 * Each watcher gets its changes in revision order through its own queue, drained asynchronously so
 * that a slow or throwing callback never runs inside the writer's transaction.
 */
import type { Change, WatchCallbacks, WatchHandle } from './store.ts';

interface Subscriber {
  readonly prefix: string;
  readonly callbacks: WatchCallbacks;
  readonly queue: Change[];
  scheduled: boolean;
  cancelled: boolean;
}

export class ChangeFanout {
  readonly #subscribers = new Set<Subscriber>();

  /** Registers a watcher and queues `backlog` (already-committed changes) ahead of live ones. */
  subscribe(prefix: string, callbacks: WatchCallbacks, backlog: readonly Change[]): WatchHandle {
    const subscriber: Subscriber = { prefix, callbacks, queue: [...backlog], scheduled: false, cancelled: false };
    this.#subscribers.add(subscriber);
    if (subscriber.queue.length > 0) this.#schedule(subscriber);
    return {
      cancel: () => {
        subscriber.cancelled = true;
        this.#subscribers.delete(subscriber);
      },
    };
  }

  publish(change: Change): void {
    for (const subscriber of this.#subscribers) {
      if (!change.key.startsWith(subscriber.prefix)) continue;
      subscriber.queue.push(change);
      this.#schedule(subscriber);
    }
  }

  /** Ends every watch with `err` (the backend is closing). */
  failAll(err: Error): void {
    for (const subscriber of [...this.#subscribers]) {
      this.#subscribers.delete(subscriber);
      subscriber.cancelled = true;
      subscriber.callbacks.onError(err);
    }
  }

  get size(): number {
    return this.#subscribers.size;
  }

  #schedule(subscriber: Subscriber): void {
    if (subscriber.scheduled) return;
    subscriber.scheduled = true;
    queueMicrotask(() => {
      subscriber.scheduled = false;
      while (!subscriber.cancelled && subscriber.queue.length > 0) {
        const change = subscriber.queue.shift()!;
        try {
          subscriber.callbacks.onChange(change);
        } catch {
          // A watcher's own failure must not stop delivery to the others.
        }
      }
    });
  }
}
