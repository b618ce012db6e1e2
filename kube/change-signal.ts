/**
 * Waiting for a state to change, without polling. The owner of some state calls `changed()` after
 * each change it makes; `until(test)` resolves once `test()` holds, checking it at once and then
 * only when told of a change. A waiter therefore costs no timer and no turn of the event loop while
 * nothing happens, and it ends the moment the state it waits for is reached, not at the next tick.
 *
 * With a deadline, `until` resolves false when the deadline passes first. Its timer is cancelled
 * as soon as the test holds, so a settled wait leaves nothing behind on the clock.
 */
import type { Clock } from './clock.ts';

interface Deadline {
  clock: Clock;
  ms: number;
}

export class ChangeSignal {
  readonly #waiters = new Set<() => void>();

  /** The state changed: every waiter whose test now holds resolves. */
  changed(): void {
    for (const check of [...this.#waiters]) check();
  }

  /** Resolves true once `test()` holds; false when `deadline` passes first. */
  until(test: () => boolean, deadline?: Deadline): Promise<boolean> {
    if (test()) return Promise.resolve(true);
    if (deadline !== undefined && deadline.ms <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const finish = (held: boolean) => {
        this.#waiters.delete(check);
        timer?.cancel();
        resolve(held);
      };
      const check = () => {
        if (test()) finish(true);
      };
      this.#waiters.add(check);
      const timer = deadline?.clock.after(deadline.ms, () => finish(false));
    });
  }

  /** Waiters not resolved yet (tests). */
  get waiting(): number {
    return this.#waiters.size;
  }
}
