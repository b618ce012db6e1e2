/**
 * The leader elector's decisions, without I/O: what to write to the Lease on each attempt, and
 * whether this candidate leads at a given moment. The runner (leader-elector.ts) reads the lease,
 * asks `planAttempt`, writes, and reports the outcome through `observe`/`renewed`.
 *
 * Upstream's semantics (client-go tools/leaderelection):
 *  - a standby judges the current holder's lease by its OWN clock, from the moment it saw the
 *    record change, never from the renewTime written by another machine (clocks may disagree);
 *  - taking over a lease bumps leaseTransitions and sets acquireTime; renewing keeps both;
 *  - every write carries the resourceVersion read, so two candidates cannot both win one round;
 *  - the leader leads only while its last successful renewal is younger than the renew deadline,
 *    which is shorter than the lease: it stops before anyone else may start.
 */
import { microTime } from '../../kube/api-time.ts';
import type { Lease } from '../../kube/corev1.ts';
import type { LeaderElectionTimings } from './election-config.ts';

export interface ElectorState {
  /** The lease as last read or written, and when (by this candidate's clock) its spec last changed. */
  readonly observed: { readonly lease: Lease; readonly changedAt: number } | undefined;
  /**
   * When the attempt that last renewed this candidate's hold STARTED (the write may have landed at
   * any moment after that, so the safe reading is the earliest); undefined while not leading.
   */
  readonly renewedAt: number | undefined;
}

export const initialElectorState: ElectorState = { observed: undefined, renewedAt: undefined };

type LeaseWrite =
  | { readonly kind: 'create'; readonly lease: Lease }
  | { readonly kind: 'update'; readonly lease: Lease }
  | { readonly kind: 'none'; readonly heldBy: string };

interface Candidate {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly timings: LeaderElectionTimings;
}

/** The spec fields whose change restarts a standby's wait (resourceVersion alone does not). */
function specFingerprint(lease: Lease | undefined): string {
  const spec = lease?.spec ?? {};
  return JSON.stringify([
    spec.holderIdentity ?? '',
    spec.leaseDurationSeconds ?? 0,
    spec.acquireTime ?? '',
    spec.renewTime ?? '',
    spec.leaseTransitions ?? 0,
  ]);
}

/**
 * Whether `lease` is an older version than `than`. A read begun before a watch event arrived can
 * answer after it; taking that older copy would restart the wait for nothing and plan a write on a
 * stale resourceVersion. Versions that are not plain numbers cannot be ordered and count as new.
 */
function olderThan(lease: Lease, than: Lease): boolean {
  const version = lease.metadata?.resourceVersion ?? '';
  const seen = than.metadata?.resourceVersion ?? '';
  if (!/^\d+$/.test(version) || !/^\d+$/.test(seen)) return false;
  return BigInt(version) < BigInt(seen);
}

/**
 * The state after reading, writing or watching `lease` at `now`; a missing lease forgets what was
 * seen, and a version older than the one already seen changes nothing.
 */
export function observe(state: ElectorState, lease: Lease | undefined, now: number): ElectorState {
  if (lease === undefined) return { ...state, observed: undefined };
  if (state.observed !== undefined && olderThan(lease, state.observed.lease)) return state;
  const unchanged = state.observed !== undefined && specFingerprint(state.observed.lease) === specFingerprint(lease);
  return { ...state, observed: { lease, changedAt: unchanged ? state.observed!.changedAt : now } };
}

/** When the lease seen runs out by this candidate's clock: its full duration after it was seen to change. */
function observedLeaseEnd(observed: NonNullable<ElectorState['observed']>): number {
  return observed.changedAt + (observed.lease.spec?.leaseDurationSeconds ?? 0) * 1000;
}

/** Whether another candidate's hold is still valid at `now`, judged by when this candidate saw it change. */
function heldElsewhere(state: ElectorState, identity: string, now: number): string | undefined {
  const observed = state.observed;
  const holder = observed?.lease.spec?.holderIdentity ?? '';
  if (observed === undefined || holder === '' || holder === identity) return undefined;
  return observedLeaseEnd(observed) > now ? holder : undefined;
}

/**
 * How long a standby waits before its next attempt: its jittered retry period, or less when the
 * holder's lease (as this candidate saw it) runs out sooner, so that it tries at that moment
 * instead of up to a retry period later. The lease still counts in full from when it was seen to
 * change; only the idle wait after its end goes.
 */
export function standbyWait(state: ElectorState, identity: string, jitteredMs: number, now: number): number {
  const observed = state.observed;
  if (heldElsewhere(state, identity, now) === undefined || observed === undefined) return jitteredMs;
  return Math.min(jitteredMs, observedLeaseEnd(observed) - now);
}

/**
 * How long from `now` until a standby should make its next attempt, judged from what it just saw
 * (through a watch, between its polls): when the holder's lease runs out by this candidate's
 * clock, at once when nobody holds it (released, deleted, or naming this candidate), and never
 * while this candidate leads (it renews on its own schedule).
 */
export function attemptDueIn(state: ElectorState, identity: string, now: number): number | undefined {
  if (state.renewedAt !== undefined) return undefined;
  const observed = state.observed;
  if (observed === undefined || heldElsewhere(state, identity, now) === undefined) return 0;
  return observedLeaseEnd(observed) - now;
}

/** What to write on this attempt, given the lease just observed (`observe` first). */
export function planAttempt(state: ElectorState, candidate: Candidate, now: number): LeaseWrite {
  const current = state.observed?.lease;
  const leaseDurationSeconds = Math.ceil(candidate.timings.leaseDurationMs / 1000);
  if (current === undefined) {
    return {
      kind: 'create',
      lease: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { namespace: candidate.namespace, name: candidate.name },
        spec: {
          holderIdentity: candidate.identity,
          leaseDurationSeconds,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: 0,
        },
      },
    };
  }
  const other = heldElsewhere(state, candidate.identity, now);
  if (other !== undefined) return { kind: 'none', heldBy: other };
  const spec = current.spec ?? {};
  const renewing = spec.holderIdentity === candidate.identity;
  return {
    kind: 'update',
    lease: {
      ...current,
      // the resourceVersion read goes back: a concurrent writer makes this write a Conflict
      metadata: { ...current.metadata },
      spec: {
        holderIdentity: candidate.identity,
        leaseDurationSeconds,
        acquireTime: renewing && spec.acquireTime !== undefined ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1),
      },
    },
  };
}

/** The state after a write of this candidate's hold, begun at `startedAt`, succeeded. */
export function renewed(written: Lease, startedAt: number): ElectorState {
  return { observed: { lease: written, changedAt: startedAt }, renewedAt: startedAt };
}

/** Whether the candidate leads at `now`: its hold was renewed less than the renew deadline ago. */
export function isLeading(state: ElectorState, timings: LeaderElectionTimings, now: number): boolean {
  return state.renewedAt !== undefined && now - state.renewedAt < timings.renewDeadlineMs;
}

/** The state once the candidate stopped leading (deadline passed, or another holder seen). */
export function stoppedLeading(state: ElectorState): ElectorState {
  return { ...state, renewedAt: undefined };
}

/**
 * The lease a leader writes when it steps down on a graceful stop (upstream's ReleaseOnCancel):
 * no holder and a one-second duration, so a standby takes over at its next attempt instead of
 * waiting out the lease.
 */
export function releasedLease(current: Lease, now: number): Lease {
  return {
    ...current,
    metadata: { ...current.metadata },
    spec: {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: current.spec?.leaseTransitions ?? 0,
    },
  };
}
