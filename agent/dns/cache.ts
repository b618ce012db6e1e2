/**
 * A bounded cache of forwarded answers. Positive answers live for their smallest TTL (capped),
 * negative ones (NXDOMAIN, NODATA) for the SOA minimum (capped), as resolvers do; served entries
 * carry their remaining TTL, never the original one.
 */
import type { Answer, Packet } from 'dns-packet';
import { rcodeOf } from './wire.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

interface CachedResponse {
  rcode: string;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

interface Entry {
  response: CachedResponse;
  storedAt: number;
  expiresAt: number;
}

interface CacheLimits {
  maxEntries: number;
  maxPositiveTtlSeconds: number;
  maxNegativeTtlSeconds: number;
}

const defaultCacheLimits: CacheLimits = {
  maxEntries: 10_000,
  maxPositiveTtlSeconds: 300,
  maxNegativeTtlSeconds: 30,
};

function ttlOf(record: Answer): number {
  return 'ttl' in record && typeof record.ttl === 'number' ? record.ttl : 0;
}

function withAge(records: Answer[], ageSeconds: number): Answer[] {
  return records.map((r) => (r.type === 'OPT' ? r : { ...r, ttl: Math.max(0, ttlOf(r) - ageSeconds) }) as Answer);
}

export class ResponseCache {
  readonly #entries = new Map<string, Entry>();
  readonly #limits: CacheLimits;
  readonly #clock: Pick<Clock, 'now'>;

  constructor(clock: Pick<Clock, 'now'> = systemClock, limits: CacheLimits = defaultCacheLimits) {
    this.#clock = clock;
    this.#limits = limits;
  }

  static key(name: string, type: string): string {
    return `${name.toLowerCase().replace(/\.$/, '')}|${type}`;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): CachedResponse | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const now = this.#clock.now();
    if (now >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    const age = Math.floor((now - entry.storedAt) / 1000);
    const { response } = entry;
    return {
      rcode: response.rcode,
      answers: withAge(response.answers, age),
      authorities: withAge(response.authorities, age),
      additionals: withAge(response.additionals, age),
    };
  }

  /** Stores a forwarded response if it can be cached; returns the lifetime given (seconds), or 0. */
  put(key: string, packet: Packet): number {
    const rcode = rcodeOf(packet);
    const answers = packet.answers ?? [];
    const authorities = packet.authorities ?? [];
    const additionals = (packet.additionals ?? []).filter((r) => r.type !== 'OPT');
    let ttl: number;
    if (rcode === 'NOERROR' && answers.length > 0) {
      ttl = Math.min(this.#limits.maxPositiveTtlSeconds, ...answers.map(ttlOf));
    } else if (rcode === 'NXDOMAIN' || (rcode === 'NOERROR' && answers.length === 0)) {
      const soa = authorities.find((r) => r.type === 'SOA');
      if (soa === undefined || soa.type !== 'SOA') return 0; // no SOA: the answer says nothing about how long it holds
      ttl = Math.min(this.#limits.maxNegativeTtlSeconds, ttlOf(soa), soa.data.minimum ?? 0);
    } else {
      return 0; // SERVFAIL, REFUSED, ...: ask again next time
    }
    if (ttl <= 0) return 0;
    if (this.#entries.size >= this.#limits.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    const now = this.#clock.now();
    this.#entries.delete(key);
    this.#entries.set(key, {
      response: { rcode, answers, authorities, additionals },
      storedAt: now,
      expiresAt: now + ttl * 1000,
    });
    return ttl;
  }
}
