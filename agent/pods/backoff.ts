/**
 * Restart and retry backoff, as pure functions over small records the pod worker keeps.
 *
 * Crash loops (per container): the first restart after an exit is immediate; each following one
 * waits 10 s, 20 s, 40 s ... up to 5 min after the exit. When two exits are more than 10 min
 * apart (the container ran cleanly that long) the delay starts again at 10 s.
 *
 * Start failures (image pull, container config, runtime refusing the container): the next try
 * waits 10 s, doubling up to 5 min, counted from the failure.
 */

interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  /** Exits further apart than this reset the delay. */
  resetAfterMs: number;
}

const crashLoopBackoff: BackoffSettings = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };
const startFailureBackoff: BackoffSettings = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export interface CrashLoopEntry {
  /** The delay that applies to the next exit. */
  delayMs: number;
  /** finishedAt of the exit that set this entry (ms). */
  lastExitAt: number;
}

type RestartDecision = { kind: 'restart'; entry: CrashLoopEntry } | { kind: 'wait'; until: number; delayMs: number };

/**
 * Whether a container that exited at `finishedAt` may be started again at `now`. On 'restart'
 * the caller stores the returned entry for the container.
 */
export function restartDecision(
  entry: CrashLoopEntry | undefined,
  finishedAt: number,
  now: number,
  settings: BackoffSettings = crashLoopBackoff,
): RestartDecision {
  const fresh = entry === undefined || finishedAt - entry.lastExitAt > settings.resetAfterMs;
  if (!fresh && now - finishedAt < entry.delayMs) {
    return { kind: 'wait', until: finishedAt + entry.delayMs, delayMs: entry.delayMs };
  }
  const delayMs = fresh ? settings.initialMs : Math.min(entry.delayMs * 2, settings.maxMs);
  return { kind: 'restart', entry: { delayMs, lastExitAt: finishedAt } };
}

export interface StartFailure {
  /** ErrImagePull, ErrImageNeverPull, InvalidImageName, CreateContainerConfigError, CreateContainerError, RunContainerError */
  reason: string;
  message: string;
  at: number;
  delayMs: number;
}

export function recordStartFailure(
  previous: StartFailure | undefined,
  reason: string,
  message: string,
  now: number,
  settings: BackoffSettings = startFailureBackoff,
): StartFailure {
  const fresh = previous === undefined || now - previous.at > settings.resetAfterMs;
  const delayMs = fresh ? settings.initialMs : Math.min(previous.delayMs * 2, settings.maxMs);
  return { reason, message, at: now, delayMs };
}

/** The reason a container shows while it waits out a start failure's backoff. */
export function backoffReasonFor(failure: StartFailure): string {
  return failure.reason === 'ErrImagePull' ? 'ImagePullBackOff' : failure.reason;
}

/**
 * The waiting message during that backoff. A pull backoff names the image and carries the pull's
 * own error, as kubelets since 1.32 show it (`Back-off pulling image "x": ErrImagePull: ...`).
 */
export function backoffMessageFor(failure: StartFailure, image: string): string {
  return failure.reason === 'ErrImagePull'
    ? `Back-off pulling image "${image}": ${failure.reason}: ${failure.message}`
    : failure.message;
}

export function startFailureRetryAt(failure: StartFailure): number {
  return failure.at + failure.delayMs;
}
