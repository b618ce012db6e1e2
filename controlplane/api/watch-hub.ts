/**
 * One datastore watch per resource, shared by every API watch of that resource (the idea of the
 * kube-apiserver's watch cache). Each change is handed only to the watches that can care about it:
 * a watch whose field selector asks for one value of an indexed field (`spec.nodeName=<node>`,
 * `metadata.name=<name>`) gets the changes whose object has, or had, that value; watches without
 * such a selector get every change. With one pod watch per node, a pod write then reaches one
 * node's watch instead of a thousand, and on etcd the server holds one etcd watch per resource
 * instead of one per client.
 *
 * The newest changes are kept in a window so that a watch starting a little behind the stream (an
 * informer lists, then watches from the list's revision) is caught up from memory. The window is
 * bounded by count and by the size of the values it holds, so that a resource of large objects
 * (ConfigMaps and Secrets of up to a MiB, custom resources) keeps fewer changes rather than a
 * thousand times its largest object. From further back than the window:
 *  - a selective watch (one node's pods, one object by name) fails with Compacted (410, "too old
 *    resource version") once the window has dropped changes, as upstream's watch cache answers: its
 *    client relists, which memory answers
 *    for a few objects, where a replay would decode every change of the resource since (a busy
 *    client is seconds behind, and the window holds less than that while pods are written at
 *    hundreds per second);
 *  - any other watch replays from a datastore watch of its own and joins the stream once it
 *    reaches the window (kept on its own watch, it cost a decode of every later change).
 * A watch from before the datastore's compacted revision fails with Compacted either way.
 *
 * Delivery is synchronous from the stream's datastore callback; a subscriber that throws does not
 * stop the others. When the datastore watch fails (etcd lost, history compacted under it), every
 * subscriber gets the error and the stream is dropped; the next watch starts a new one.
 */
import { StorageError } from '../errors.ts';
import type { Change, Storage, WatchCallbacks } from '../storage/store.ts';

/** What a subscriber filters on: one value of one indexed field, or nothing (every change). */
export interface WatchTrigger {
  readonly field: string;
  readonly value: string;
}

export interface HubWatchHandle {
  cancel(): void;
  /** Every change of the stream at or below this revision has been offered to this watch. */
  caughtUp(): number;
}

interface Subscriber {
  readonly prefix: string;
  readonly trigger: WatchTrigger | undefined;
  readonly callbacks: WatchCallbacks;
  /** Changes at or below this were delivered (or were before the watch's start). */
  delivered: number;
  cancelled: boolean;
}

/** The values that a change's object and previous object have for `field` (either may be missing). */
type TriggerValues = (change: Change, field: string) => readonly string[];

/** What a change holds in the window: its value and previous value (their UTF-16 length, close to their bytes for JSON). */
function windowedSize(change: Change): number {
  return change.value.length + (change.prevValue?.length ?? 0);
}

interface WindowBounds {
  /** Changes kept at most. */
  readonly changes: number;
  /** Characters of values (new and previous) kept at most; the newest change is kept whatever its size. */
  readonly size: number;
}

class Stream {
  readonly #window: Change[] = [];
  /** The windowedSize of the changes in the window. */
  #windowSize = 0;
  /** Changes at or below this revision are no longer in the window. */
  floor: number;
  /** The newest revision the stream has dispatched. */
  latest: number;
  readonly #bounds: WindowBounds;
  readonly #triggerValues: TriggerValues;
  readonly #untriggered = new Set<Subscriber>();
  /** field -> value -> subscribers */
  readonly #byField = new Map<string, Map<string, Set<Subscriber>>>();
  cancelStorage: () => void = () => undefined;
  /** The datastore watch ended with an error: nothing more comes through this stream. */
  failed = false;

  /** The revision the stream started from: its floor until the window first drops a change. */
  readonly start: number;

  constructor(fromRevision: number, bounds: WindowBounds, triggerValues: TriggerValues) {
    this.start = fromRevision;
    this.floor = fromRevision;
    this.latest = fromRevision;
    this.#bounds = bounds;
    this.#triggerValues = triggerValues;
  }

  get subscribers(): number {
    let count = this.#untriggered.size;
    for (const values of this.#byField.values()) for (const set of values.values()) count += set.size;
    return count;
  }

  add(subscriber: Subscriber): void {
    // catch up from the window first; nothing can be dispatched in between (all of this is synchronous)
    for (const change of this.#window) this.#offer(subscriber, change);
    const trigger = subscriber.trigger;
    if (trigger === undefined) {
      this.#untriggered.add(subscriber);
      return;
    }
    let values = this.#byField.get(trigger.field);
    if (values === undefined) this.#byField.set(trigger.field, (values = new Map()));
    let set = values.get(trigger.value);
    if (set === undefined) values.set(trigger.value, (set = new Set()));
    set.add(subscriber);
  }

  remove(subscriber: Subscriber): void {
    const trigger = subscriber.trigger;
    if (trigger === undefined) {
      this.#untriggered.delete(subscriber);
      return;
    }
    const values = this.#byField.get(trigger.field);
    const set = values?.get(trigger.value);
    set?.delete(subscriber);
    if (set?.size === 0) values!.delete(trigger.value);
    if (values?.size === 0) this.#byField.delete(trigger.field);
  }

  dispatch(change: Change): void {
    this.#window.push(change);
    this.#windowSize += windowedSize(change);
    while (
      this.#window.length > this.#bounds.changes ||
      (this.#windowSize > this.#bounds.size && this.#window.length > 1)
    ) {
      const dropped = this.#window.shift()!;
      this.#windowSize -= windowedSize(dropped);
      this.floor = dropped.revision;
    }
    this.latest = change.revision;
    for (const [field, values] of this.#byField) {
      for (const value of new Set(this.#triggerValues(change, field))) {
        const set = values.get(value);
        if (set !== undefined) for (const subscriber of set) this.#offer(subscriber, change);
      }
    }
    for (const subscriber of this.#untriggered) this.#offer(subscriber, change);
  }

  fail(err: Error): void {
    this.failed = true;
    const all = [...this.#untriggered];
    for (const values of this.#byField.values()) for (const set of values.values()) all.push(...set);
    this.#untriggered.clear();
    this.#byField.clear();
    for (const subscriber of all) {
      subscriber.cancelled = true;
      subscriber.callbacks.onError(err);
    }
  }

  #offer(subscriber: Subscriber, change: Change): void {
    if (subscriber.cancelled || change.revision <= subscriber.delivered || !change.key.startsWith(subscriber.prefix))
      return;
    subscriber.delivered = change.revision;
    try {
      subscriber.callbacks.onChange(change);
    } catch {
      // a watcher's own failure must not stop delivery to the others
    }
  }
}

interface WatchHubOptions {
  /** Changes kept per resource for watches that start behind the stream (default 1,000). */
  windowSize?: number;
  /**
   * Characters of serialised values (new and previous) kept per resource (default 16 Mi; a thousand
   * changes of pods as the scale bench writes them take 4 to 8 Mi).
   */
  windowChars?: number;
}

export class WatchHub {
  readonly #storage: Storage;
  readonly #windowBounds: WindowBounds;
  readonly #streams = new Map<string, Promise<Stream>>();

  constructor(storage: Storage, options: WatchHubOptions = {}) {
    this.#storage = storage;
    this.#windowBounds = { changes: options.windowSize ?? 1000, size: options.windowChars ?? 16 * 1024 * 1024 };
  }

  /**
   * Delivers the changes under `prefix` after `fromRevision`, in revision order, through the shared
   * stream `streamKey` (whose datastore watch covers `root`, a prefix of `prefix`). Only changes
   * whose trigger values include the trigger's value are offered when a trigger is given: the
   * caller's own filter must never match any other.
   */
  async watch(
    streamKey: string,
    root: string,
    prefix: string,
    fromRevision: number,
    trigger: WatchTrigger | undefined,
    triggerValues: TriggerValues,
    callbacks: WatchCallbacks,
  ): Promise<HubWatchHandle> {
    // history compacted past the start is a 410 even when the window still holds it, so that a
    // watch's fate does not depend on which server it reached or how busy the resource was
    const compacted = await this.#storage.compactedRevision();
    if (fromRevision < compacted)
      throw new StorageError('BOSUN_STORAGE_COMPACTED', `revision ${fromRevision} is compacted (oldest ${compacted})`);
    // the first watch of a resource starts its stream: a failure to start is that watch's error
    const stream = await this.#stream(streamKey, root, fromRevision, triggerValues);
    const subscriber: Subscriber = { prefix, trigger, callbacks, delivered: fromRevision, cancelled: false };
    if (fromRevision < stream.floor) {
      // (a stream that has dropped nothing yet is young: a replay from before it is short)
      if (trigger !== undefined && stream.floor > stream.start)
        throw new StorageError(
          'BOSUN_STORAGE_COMPACTED',
          `${fromRevision} (the server's window starts after ${stream.floor})`,
        );
      return this.#catchUp(stream, subscriber);
    }
    stream.add(subscriber);
    return {
      cancel: () => {
        subscriber.cancelled = true;
        stream.remove(subscriber);
      },
      caughtUp: () => Math.max(subscriber.delivered, stream.latest),
    };
  }

  /** How many shared streams and subscribers there are (for tests). */
  async stats(): Promise<{ streams: number; subscribers: number }> {
    let subscribers = 0;
    const streams = await Promise.all([...this.#streams.values()].map((s) => s.catch(() => undefined)));
    for (const stream of streams) subscribers += stream?.subscribers ?? 0;
    return { streams: streams.filter(Boolean).length, subscribers };
  }

  /**
   * Replays from the datastore what the window no longer holds, then joins the stream: as soon as
   * the replay delivered a change at or above the window's floor, every later change is in the
   * window or still to come, so the stream catches the watch up from there. A watch whose prefix
   * sees no change until then stays on its datastore watch, as before the hub.
   */
  async #catchUp(stream: Stream, subscriber: Subscriber): Promise<HubWatchHandle> {
    let own: { cancel(): void } | undefined;
    let joined = false;
    const handle = await this.#storage.watch(subscriber.prefix, subscriber.delivered, {
      onChange: (change) => {
        if (joined || subscriber.cancelled) return;
        subscriber.delivered = change.revision;
        subscriber.callbacks.onChange(change);
        if (change.revision >= stream.floor && !subscriber.cancelled && !stream.failed) {
          joined = true;
          own?.cancel(); // still unset when the first change arrives before the watch call returned
          stream.add(subscriber);
        }
      },
      onError: (err) => {
        if (!joined) subscriber.callbacks.onError(err);
      },
    });
    own = handle;
    if (joined) handle.cancel();
    return {
      cancel: () => {
        subscriber.cancelled = true;
        if (joined) stream.remove(subscriber);
        else handle.cancel();
      },
      caughtUp: () => (joined ? Math.max(subscriber.delivered, stream.latest) : subscriber.delivered),
    };
  }

  #stream(key: string, root: string, fromRevision: number, triggerValues: TriggerValues): Promise<Stream> {
    const existing = this.#streams.get(key);
    if (existing !== undefined) return existing;
    const stream = new Stream(fromRevision, this.#windowBounds, triggerValues);
    const started = this.#storage
      .watch(root, fromRevision, {
        onChange: (change) => stream.dispatch(change),
        onError: (err) => {
          if (this.#streams.get(key) === started) this.#streams.delete(key);
          stream.fail(err);
        },
      })
      .then((handle) => {
        stream.cancelStorage = () => handle.cancel();
        return stream;
      });
    this.#streams.set(key, started);
    // a stream that could not start is forgotten, so the next watch tries again
    started.catch(() => {
      if (this.#streams.get(key) === started) this.#streams.delete(key);
    });
    return started;
  }

  /** Stops every stream (the server is closing); their subscribers are not told. */
  async close(): Promise<void> {
    const streams = await Promise.all([...this.#streams.values()].map((s) => s.catch(() => undefined)));
    this.#streams.clear();
    for (const stream of streams) stream?.cancelStorage();
  }
}
