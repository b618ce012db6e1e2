/**
 * The agent's event recorder: what happened to a pod or to the node, told to the cluster as
 * core/v1 Events (source component `kubelet`, host = the node name), as `kubectl describe` and
 * `kubectl get events` show them.
 *
 * Recording never waits: `event()` correlates (aggregation, dedup, spam filter; see
 * event-correlator.ts) and queues the write. One writer drains the queue in the background, so a
 * slow or unreachable API server never delays a pod worker. The queue is bounded: when full, the
 * oldest write is dropped and counted (upstream's broadcaster drops too; events are best effort).
 *
 * Lifecycle: the constructor does nothing; writes start at the first event; close() stops the
 * writer (what is still queued is dropped) and is idempotent; flushed() resolves once the queue is
 * empty (tests, shutdown).
 */
import type { Logger } from 'pino';
import { isApiError } from '../../kube/errors.ts';
import type { Clock } from '../../kube/clock.ts';
import {
  EventCorrelator,
  type CoreEvent,
  type CorrelatorOptions,
  type EventInput,
  type EventType,
  type ObjectReference,
} from './event-correlator.ts';

/** Where events go; an adapter over the API client implements it. */
export interface EventSink {
  create(event: CoreEvent): Promise<void>;
  /** Bumps count and lastTimestamp (and message, for combined events); rejects with NotFound when the Event is gone. */
  patch(event: CoreEvent): Promise<void>;
}

/** What pod and node code records through; tests pass a fake that keeps what it got. */
export interface Recorder {
  event(object: ObjectReference, type: EventType, reason: string, message: string): void;
}

interface EventRecorderOptions extends Omit<CorrelatorOptions, 'clock'> {
  sink: EventSink;
  clock: Clock;
  log: Logger;
  /** Queued writes at most (default 1000). */
  queueLimit?: number;
  /** Tries per write (default 3), waiting 1 s, then 2 s between them. */
  tries?: number;
}

type Write = { kind: 'create' | 'patch'; event: CoreEvent };

export class EventRecorder implements Recorder {
  readonly #o: EventRecorderOptions;
  readonly #correlator: EventCorrelator;
  readonly #queue: Write[] = [];
  #draining: Promise<void> | undefined;
  #closed = false;
  /** Writes dropped because the queue was full. */
  droppedFull = 0;
  /** Writes that failed after their tries. */
  failed = 0;
  /** Writes made (creates and patches). */
  written = 0;

  constructor(options: EventRecorderOptions) {
    this.#o = options;
    this.#correlator = new EventCorrelator({ ...options, clock: options.clock });
  }

  /** Events the spam filter dropped. */
  get droppedSpam(): number {
    return this.#correlator.dropped;
  }

  event(object: ObjectReference, type: EventType, reason: string, message: string): void {
    if (this.#closed) return;
    const input: EventInput = { involvedObject: object, type, reason, message };
    const decision = this.#correlator.correlate(input);
    if (decision.kind === 'drop') return;
    if (this.#queue.length >= (this.#o.queueLimit ?? 1000)) {
      this.#queue.shift();
      this.droppedFull++;
      if (this.droppedFull === 1 || this.droppedFull % 100 === 0)
        this.#o.log.warn({ dropped: this.droppedFull }, 'event queue full; dropping the oldest events');
    }
    // a bump of an event still queued replaces that write (its object is not created yet)
    const queued = this.#queue.findIndex((w) => w.event.metadata.name === decision.event.metadata.name);
    if (queued >= 0) this.#queue[queued] = { kind: this.#queue[queued]!.kind, event: decision.event };
    else this.#queue.push(decision);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Resolves once every queued write was made or given up. */
  async flushed(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }

  async #drain(): Promise<void> {
    for (let write = this.#queue.shift(); write !== undefined && !this.#closed; write = this.#queue.shift()) {
      await this.#write(write);
    }
  }

  async #write(write: Write): Promise<void> {
    const { sink, log } = this.#o;
    const tries = this.#o.tries ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        if (write.kind === 'create') await sink.create(write.event);
        else await sink.patch(write.event);
        this.written++;
        return;
      } catch (err) {
        // the server's refusals (Forbidden, Invalid, ...) are final; only network trouble is tried again
        if (write.kind === 'patch' && isApiError(err, 'NotFound')) {
          // the Event expired (or was deleted): write it again under its name, count kept
          write = { kind: 'create', event: write.event };
          continue;
        }
        const again = attempt < tries && !isApiError(err) && !this.#closed;
        if (!again) {
          this.failed++;
          this.#correlator.forget(write.event);
          log.warn(
            { reason: write.event.reason, object: write.event.involvedObject.name, err: (err as Error).message },
            'could not write an event',
          );
          return;
        }
        await new Promise<void>((resolve) => this.#o.clock.after(1000 * attempt, resolve));
      }
    }
  }
}
