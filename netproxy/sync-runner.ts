/**
 * Coalesces sync requests: any number of requests between two runs cause one run; runs are at
 * least `minIntervalMs` apart (so a burst of API events costs one sync), and a run happens at
 * least every `maxIntervalMs` even without requests (the periodic resync). The latest state
 * always wins, because the sync reads the state when it runs, not when it was requested.
 */
import { monotonicClock, pause, type Clock } from '../kube/clock.ts';

export class SyncRunner {
  readonly #minIntervalMs: number;
  readonly #maxIntervalMs: number;
  readonly #clock: Clock;
  readonly #work: () => Promise<void>;
  #pending = false;
  #wake: AbortController = new AbortController();
  #lastRun = Number.NEGATIVE_INFINITY;
  /** No run before this time, requested or not (a failed run's back-off). */
  #heldUntil = Number.NEGATIVE_INFINITY;

  constructor(work: () => Promise<void>, options: { minIntervalMs: number; maxIntervalMs: number; clock?: Clock }) {
    this.#work = work;
    this.#minIntervalMs = options.minIntervalMs;
    this.#maxIntervalMs = options.maxIntervalMs;
    this.#clock = options.clock ?? monotonicClock;
  }

  /** Asks for a run as soon as the minimum interval allows. Cheap; safe to call very often. */
  request(): void {
    this.#pending = true;
    this.#wake.abort();
  }

  /**
   * Asks for a run no sooner than `ms` from now; requests in between wait for it too (they are
   * coalesced into that run). For retrying work that failed.
   */
  retryAfter(ms: number): void {
    this.#heldUntil = this.#clock.now() + ms;
    this.#pending = true;
    this.#wake.abort();
  }

  /** Runs until the signal aborts. Errors from the work are the work's business: it must not throw. */
  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.#wake.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      while (!signal.aborted) {
        const now = this.#clock.now();
        const due = Math.max(
          this.#heldUntil,
          this.#pending ? this.#lastRun + this.#minIntervalMs : this.#lastRun + this.#maxIntervalMs,
        );
        if (now < due) {
          if (this.#wake.signal.aborted) this.#wake = new AbortController();
          // A request while waiting for the periodic run shortens the wait; loop to recompute.
          await pause(this.#clock, due - now, this.#pending ? signal : this.#wake.signal);
          continue;
        }
        this.#pending = false;
        this.#lastRun = now;
        await this.#work();
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }
}
