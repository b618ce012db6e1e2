/**
 * How long the proxy waits after a failed sync before it tries again: 1 s, doubling with each
 * failure in a row, at most 30 s (then every 30 s until a sync succeeds). A failure that will fail
 * again (a payload the kernel refuses, a missing module) must not run iptables-restore ten times
 * a second for ever; a success resets the count.
 */
const firstRetryMs = 1_000;
const maxRetryMs = 30_000;

/** The wait after `failures` consecutive failed syncs (1 or more). */
export function syncRetryDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxRetryMs, firstRetryMs * 2 ** Math.min(failures - 1, 15));
}
