/**
 * When probes run and what their results mean, as pure functions over a small record per
 * (container, probe kind). The probe runner (probe-runner.ts) owns the timers and the I/O.
 *
 *  - Defaults as the API sets them: initialDelay 0 s, period 10 s, timeout 1 s, success
 *    threshold 1 (always 1 for liveness and startup), failure threshold 3.
 *  - The first run happens after the initial delay, counted from the container's start. When the
 *    agent itself started less than one period ago (an agent restart finds many containers at
 *    once), the first run is also pushed back by a random part of the period, so probes spread
 *    out instead of firing together.
 *  - Results: startup begins Unknown, liveness Success, readiness Failure (or, for a container the
 *    agent re-adopted, the readiness it last reported, until the first probe says otherwise).
 *    A result flips after `successThreshold` successes or `failureThreshold` failures in a row.
 *  - A timed-out probe counts as a failure but says "timed out"; an `error` (the probe could not
 *    be run, e.g. the runtime is unreachable) changes nothing: that is never the container's fault.
 *  - Liveness and readiness do not run until the startup probe has succeeded; the startup probe
 *    stops running once it has.
 */
import type { Probe } from '../../kube/corev1.ts';

export type ProbeKind = 'startup' | 'liveness' | 'readiness';
type ProbeResult = 'unknown' | 'success' | 'failure';

export interface ProbeSettings {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export function probeSettings(probe: Probe, kind: ProbeKind): ProbeSettings {
  const positive = (value: number | undefined, fallback: number) =>
    value !== undefined && value > 0 ? value : fallback;
  return {
    initialDelayMs: Math.max(0, probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: positive(probe.periodSeconds, 10) * 1000,
    timeoutMs: positive(probe.timeoutSeconds, 1) * 1000,
    successThreshold: kind === 'readiness' ? positive(probe.successThreshold, 1) : 1,
    failureThreshold: positive(probe.failureThreshold, 3),
  };
}

export type ProbeOutcome =
  | { kind: 'success'; message?: string }
  | { kind: 'failure'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'error'; message: string };

export interface ProbeTrack {
  kind: ProbeKind;
  result: ProbeResult;
  successes: number;
  failures: number;
  /** What the last counted run said ("probe timed out after 1s", "HTTP probe failed with statuscode: 500"). */
  lastMessage: string;
  nextRunAt: number;
  /** The startup probe is done (succeeded) and no longer runs. */
  finished: boolean;
}

interface FirstRunContext {
  /** When the container started (ms). */
  containerStartedAt: number;
  now: number;
  /** When this agent process started (ms). */
  agentStartedAt: number;
  /** A number in [0, 1): the jitter draw (injected for tests). */
  random: number;
  /** For readiness of a re-adopted container: the readiness last reported. */
  lastKnownReady?: boolean | undefined;
}

function initialResult(kind: ProbeKind, lastKnownReady?: boolean): ProbeResult {
  if (kind === 'liveness') return 'success';
  if (kind === 'startup') return 'unknown';
  return lastKnownReady === true ? 'success' : 'failure';
}

export function firstProbeTrack(kind: ProbeKind, settings: ProbeSettings, context: FirstRunContext): ProbeTrack {
  const afterDelay = context.containerStartedAt + settings.initialDelayMs;
  const agentIsNew = context.now - context.agentStartedAt < settings.periodMs;
  const jittered = agentIsNew ? context.now + Math.floor(context.random * settings.periodMs) : context.now;
  return {
    kind,
    result: initialResult(kind, context.lastKnownReady),
    successes: 0,
    failures: 0,
    lastMessage: '',
    nextRunAt: Math.max(afterDelay, jittered),
    finished: false,
  };
}

/** The track after a run that ended at `now` with `outcome`. */
export function recordProbeOutcome(
  track: ProbeTrack,
  settings: ProbeSettings,
  outcome: ProbeOutcome,
  now: number,
): ProbeTrack {
  const next: ProbeTrack = { ...track, nextRunAt: now + settings.periodMs };
  if (outcome.kind === 'error') {
    next.lastMessage = `probe could not run: ${outcome.message}`;
    return next;
  }
  if (outcome.kind === 'success') {
    next.successes = track.successes + 1;
    next.failures = 0;
    next.lastMessage = outcome.message ?? '';
    if (next.successes >= settings.successThreshold) next.result = 'success';
    if (track.kind === 'startup' && next.result === 'success') next.finished = true;
    return next;
  }
  next.failures = track.failures + 1;
  next.successes = 0;
  next.lastMessage =
    outcome.kind === 'timeout' ? `probe timed out: ${outcome.message}` : `probe failed: ${outcome.message}`;
  if (next.failures >= settings.failureThreshold) next.result = 'failure';
  return next;
}

/** Whether a probe of `kind` may run now, given the container's startup track (if it has one). */
export function probeMayRun(kind: ProbeKind, startup: ProbeTrack | undefined): boolean {
  if (kind === 'startup') return startup === undefined || !startup.finished;
  return startup === undefined || startup.finished;
}

/**
 * Whether the container must be killed: liveness or startup reached its failure threshold.
 * (A readiness failure only makes the container unready.)
 */
export function probeDemandsRestart(track: ProbeTrack): boolean {
  return (track.kind === 'liveness' || track.kind === 'startup') && track.result === 'failure';
}
