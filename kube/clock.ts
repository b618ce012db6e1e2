/**
 * Time, injected: everything in the agent and the control plane that reads the time or waits takes
 * a Clock, so tests drive time by hand and real runs use the system's.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`; the handle cancels it. */
  after(ms: number, fn: () => void): TimerHandle;
}

/**
 * setTimeout holds at most 2^31-1 ms (24.8 days) and fires after 1 ms when asked for more, which
 * turns a long wait (a certificate due in eight months) into a busy loop. Longer waits are made
 * of several timers, each re-armed for what is left.
 */
const longestTimerMs = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const due = Date.now() + Math.max(0, ms);
    let timer: ReturnType<typeof setTimeout>;
    const arm = () => {
      const left = due - Date.now();
      timer = left > longestTimerMs ? setTimeout(arm, longestTimerMs) : setTimeout(fn, Math.max(0, left));
    };
    arm();
    return { cancel: () => clearTimeout(timer) };
  },
};

/**
 * A clock for measuring elapsed time (sync durations, "last sync N s ago"): performance.now() never
 * jumps when the wall clock is set, so a step of NTP cannot make a sync look minutes long.
 */
export const monotonicClock: Clock = {
  now: () => performance.now(),
  after: systemClock.after,
};

/** Waits `ms` on `clock`, or less when `signal` aborts first (a loop's pause between rounds). */
export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.after(ms, done);
    signal.addEventListener('abort', done, { once: true });
  });
}
