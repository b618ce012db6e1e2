/**
 * A controller's queue of object keys, with upstream's guarantees: a key waiting is queued once
 * however often it is added; a key being worked on is never handed to a second worker, and if it
 * is added meanwhile it comes back once the first is done; failed keys return after a per-key
 * backoff (100 ms doubling to 60 s) that `forget` resets.
 */
interface WorkQueueOptions {
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export class WorkQueue {
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirtyWhileProcessing = new Set<string>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  #closed = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#initialBackoffMs = options.initialBackoffMs ?? 100;
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
  }

  get length(): number {
    return this.#ready.length;
  }

  add(key: string): void {
    if (this.#closed) return;
    if (this.#processing.has(key)) {
      this.#dirtyWhileProcessing.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queued.add(key);
    this.#ready.push(key);
  }

  /** Adds the key after `delayMs`; an earlier pending delay for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#closed) return;
    const at = Date.now() + delayMs;
    const existing = this.#timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.#timers.delete(key);
        this.add(key);
      },
      Math.max(0, delayMs),
    );
    this.#timers.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    this.addAfter(key, Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** (failures - 1)));
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** The next key to work on; undefined once the queue is closed. Call `done` when finished. */
  next(): Promise<string | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const key = this.#ready.shift();
    if (key !== undefined) {
      this.#queued.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirtyWhileProcessing.delete(key)) this.add(key);
  }

  close(): void {
    this.#closed = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}
