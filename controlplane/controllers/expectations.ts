/**
 * What a controller has asked the API for and not yet seen in its cache. Until the informer shows
 * the pods (or slices) it created and the deletions it made, a controller must not plan again for
 * that owner, or it would count too few and create duplicates. Expectations expire after five
 * minutes so a lost watch event cannot wedge an owner forever (upstream's rule too).
 */
import type { Clock } from '../../kube/clock.ts';

export const expectationTimeoutMs = 5 * 60_000;

interface Pending {
  adds: number;
  deletes: Set<string>;
  since: number;
}

export class Expectations {
  readonly #pending = new Map<string, Pending>();
  readonly #clock: Pick<Clock, 'now'>;

  constructor(clock: Pick<Clock, 'now'>) {
    this.#clock = clock;
  }

  expect(ownerUid: string, adds: number, deletes: readonly string[]): void {
    if (adds === 0 && deletes.length === 0) return;
    const entry = this.#pending.get(ownerUid) ?? { adds: 0, deletes: new Set<string>(), since: this.#clock.now() };
    entry.adds += adds;
    for (const key of deletes) entry.deletes.add(key);
    entry.since = this.#clock.now();
    this.#pending.set(ownerUid, entry);
  }

  /** A create that failed or was never sent will not show up: stop waiting for it. */
  lowerAdds(ownerUid: string, count: number): void {
    const entry = this.#pending.get(ownerUid);
    if (entry) entry.adds = Math.max(0, entry.adds - count);
  }

  observedAdd(ownerUid: string): void {
    const entry = this.#pending.get(ownerUid);
    if (entry && entry.adds > 0) entry.adds--;
  }

  observedDelete(ownerUid: string, key: string): void {
    this.#pending.get(ownerUid)?.deletes.delete(key);
  }

  satisfied(ownerUid: string): boolean {
    const entry = this.#pending.get(ownerUid);
    if (entry === undefined) return true;
    if ((entry.adds === 0 && entry.deletes.size === 0) || this.#clock.now() - entry.since > expectationTimeoutMs) {
      this.#pending.delete(ownerUid);
      return true;
    }
    return false;
  }

  forget(ownerUid: string): void {
    this.#pending.delete(ownerUid);
  }
}
