/**
 * Decides what one recorded event becomes in the API, as client-go's EventCorrelator does, so
 * that a node in trouble tells the cluster about it without flooding it:
 *
 *  1. aggregation: more than 10 events within 10 minutes that differ only in their message (same
 *     source, object, type and reason) collapse into one event whose message starts
 *     "(combined from similar events): ";
 *  2. deduplication: an event identical to one already sent (same source, object and fieldPath,
 *     type, reason, message) within the cache's memory bumps that Event's count and lastTimestamp
 *     (a PATCH) instead of creating another object;
 *  3. spam filter: a token bucket per source + object (burst 25, one token back every 5 minutes)
 *     drops what is left over, so a crash-looping pod costs the API at most a trickle.
 *
 * Pure apart from its caches: time comes from the clock. Caches are bounded (4096 keys, oldest
 * forgotten first).
 */
import type { Clock } from '../../kube/clock.ts';
import { apiTime } from '../../kube/api-time.ts';

export type EventType = 'Normal' | 'Warning';

export interface ObjectReference {
  kind: string;
  apiVersion: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  /** e.g. `spec.containers{app}`: the part of the object the event is about. */
  fieldPath?: string;
}

export interface EventInput {
  involvedObject: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
}

/** A core/v1 Event as the API takes it. */
export interface CoreEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  type: EventType;
  reportingComponent: string;
  reportingInstance: string;
}

type Correlated =
  | { kind: 'create'; event: CoreEvent }
  /** Bump an Event already created: count and lastTimestamp (PATCH). */
  | { kind: 'patch'; event: CoreEvent }
  | { kind: 'drop' };

export interface CorrelatorOptions {
  clock: Clock;
  /** source.component, e.g. 'kubelet'. */
  component: string;
  /** source.host: the node name. */
  host: string;
  burst?: number;
  /** Milliseconds until one more token is back in a source + object's bucket. */
  refillMs?: number;
  aggregateWindowMs?: number;
  aggregateMaxEvents?: number;
  cacheSize?: number;
}

const correlatorDefaults = {
  burst: 25,
  refillMs: 300_000,
  aggregateWindowMs: 600_000,
  aggregateMaxEvents: 10,
  cacheSize: 4096,
} as const;

/** A Map that forgets its oldest key past `limit` (an LRU by insertion and touch). */
class BoundedMap<V> {
  readonly #map = new Map<string, V>();
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#limit) this.#map.delete(this.#map.keys().next().value!);
  }
  delete(key: string): void {
    this.#map.delete(key);
  }
}

interface Aggregate {
  messages: Set<string>;
  lastMs: number;
}
interface Bucket {
  tokens: number;
  lastMs: number;
}

export class EventCorrelator {
  readonly #o: Required<CorrelatorOptions>;
  readonly #aggregates: BoundedMap<Aggregate>;
  readonly #sent: BoundedMap<CoreEvent>;
  readonly #buckets: BoundedMap<Bucket>;
  /** Event name -> its dedup key, so a failed write can be forgotten. */
  readonly #keys: BoundedMap<string>;
  #serial = 0;
  /** Events the spam filter dropped, for the log and metrics. */
  dropped = 0;

  constructor(options: CorrelatorOptions) {
    this.#o = { ...correlatorDefaults, ...options };
    this.#aggregates = new BoundedMap(this.#o.cacheSize);
    this.#sent = new BoundedMap(this.#o.cacheSize);
    this.#buckets = new BoundedMap(this.#o.cacheSize);
    this.#keys = new BoundedMap(this.#o.cacheSize);
  }

  correlate(input: EventInput): Correlated {
    const now = this.#o.clock.now();
    const ref = input.involvedObject;
    const objectKey = [
      this.#o.component,
      this.#o.host,
      ref.kind,
      ref.namespace ?? '',
      ref.name,
      ref.uid ?? '',
      ref.apiVersion,
    ].join('\u0000');
    const aggregateKey = `${objectKey}\u0000${input.type}\u0000${input.reason}`;
    const aggregated = this.#aggregated(aggregateKey, input.message, now);
    const message = aggregated ? `(combined from similar events): ${input.message}` : input.message;
    // once combined, every further similar event bumps the one combined Event (with the newest message)
    const eventKey = aggregated
      ? `${aggregateKey}\u0000combined`
      : [objectKey, ref.fieldPath ?? '', input.type, input.reason, message].join('\u0000');
    if (!this.#takeToken(objectKey, now)) {
      this.dropped++;
      return { kind: 'drop' };
    }
    const previous = this.#sent.get(eventKey);
    if (previous !== undefined) {
      const bumped: CoreEvent = { ...previous, message, count: previous.count + 1, lastTimestamp: apiTime(now) };
      this.#sent.set(eventKey, bumped);
      return { kind: 'patch', event: bumped };
    }
    const at = apiTime(now);
    const event: CoreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      // upstream names events <object>.<unix nanos in hex>; the serial keeps two in one ms apart
      metadata: {
        name: `${ref.name}.${(BigInt(now) * 1_000_000n + BigInt(this.#serial++ % 1_000_000)).toString(16)}`,
        namespace: ref.namespace || 'default',
      },
      involvedObject: ref,
      reason: input.reason,
      message,
      source: { component: this.#o.component, host: this.#o.host },
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
      type: input.type,
      reportingComponent: this.#o.component,
      reportingInstance: this.#o.host,
    };
    this.#sent.set(eventKey, event);
    this.#keys.set(event.metadata.name, eventKey);
    return { kind: 'create', event };
  }

  /** The Event could not be written (or is gone from the API): a repeat creates a new one. */
  forget(event: CoreEvent): void {
    const key = this.#keys.get(event.metadata.name);
    if (key !== undefined && this.#sent.get(key)?.metadata.name === event.metadata.name) this.#sent.delete(key);
  }

  /** Whether this is at least the aggregateMaxEvents-th distinct message of its kind in the window. */
  #aggregated(key: string, message: string, now: number): boolean {
    let record = this.#aggregates.get(key);
    if (record === undefined || now - record.lastMs > this.#o.aggregateWindowMs)
      record = { messages: new Set(), lastMs: now };
    if (record.messages.size < this.#o.aggregateMaxEvents) record.messages.add(message);
    record.lastMs = now;
    this.#aggregates.set(key, record);
    return record.messages.size >= this.#o.aggregateMaxEvents;
  }

  #takeToken(key: string, now: number): boolean {
    const bucket = this.#buckets.get(key) ?? { tokens: this.#o.burst, lastMs: now };
    const refilled = Math.min(this.#o.burst, bucket.tokens + (now - bucket.lastMs) / this.#o.refillMs);
    const ok = refilled >= 1;
    this.#buckets.set(key, { tokens: ok ? refilled - 1 : refilled, lastMs: now });
    return ok;
  }
}
