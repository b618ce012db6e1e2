/**
 * Leader election timings, as upstream's --leader-elect-* flags of kube-scheduler and
 * kube-controller-manager: a lease of 15 s, renewed every 2 s, given up when no renewal succeeded
 * for 10 s. Giving up 5 s before the lease can expire anywhere else is what keeps two leaders from
 * writing at once.
 */

export interface LeaderElectionTimings {
  /** How long a standby waits after the lease last changed before it takes it over. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps leading without a successful renewal. */
  readonly renewDeadlineMs: number;
  /** The pause between attempts to acquire or renew. */
  readonly retryPeriodMs: number;
}

export const defaultLeaderElectionTimings: LeaderElectionTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** Standbys wait between one and 2.2 retry periods, as upstream's wait.JitterUntil with factor 1.2. */
export const acquireJitterFactor = 1.2;

/** Why the timings cannot work, in upstream's words (client-go's NewLeaderElector), or undefined. */
export function leaderElectionTimingsProblem(timings: LeaderElectionTimings): string | undefined {
  if (timings.leaseDurationMs <= timings.renewDeadlineMs) return 'leaseDuration must be greater than renewDeadline';
  if (timings.renewDeadlineMs <= acquireJitterFactor * timings.retryPeriodMs)
    return 'renewDeadline must be greater than retryPeriod*JitterFactor';
  if (timings.leaseDurationMs < 1_000) return 'leaseDuration must be at least one second';
  if (timings.retryPeriodMs <= 0) return 'retryPeriod must be greater than zero';
  return undefined;
}
