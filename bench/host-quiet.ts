/**
 * Waits, before a suite of a full run starts, until the host's CPUs are quiet: the suite before
 * may leave work behind it (a large one frees gigabytes, stops servers and deletes datastores),
 * and a suite that starts into that measures the leftovers. The wait is bounded; the report shows
 * what it found. It sees CPU work only: a process start slowed with the CPUs idle (cri-cli's
 * `node -e ''` at 4–5× its usual wall time in full runs) is not something it can wait out.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The all-CPU line of /proc/stat: jiffies spent busy and in total since boot. */
interface CpuTimes {
  busy: number;
  total: number;
}

/** Reads the `cpu ` line of /proc/stat; idle and iowait count as not busy. */
export function parseCpuTimes(procStat: string): CpuTimes {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('no cpu line in /proc/stat');
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const total = fields.slice(0, 8).reduce((sum, v) => sum + v, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** The share (0..1) of all CPUs' time that was busy between two readings. */
export function busyShare(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : 0;
}

export interface QuietWait {
  /** Seconds waited before the host was quiet (or the wait gave up). */
  waited_s: number;
  /** Busy share of the last window measured, in percent of all CPUs. */
  busy_pct: number;
  quiet: boolean;
}

/**
 * Measures windows of `windowMs` until one is below `maxBusy` of all CPUs, or `limitMs` has passed.
 * Nothing of the run is on the CPUs while it waits, so what it sees is what was left behind.
 */
export async function waitForQuietHost(
  options: { maxBusy?: number; windowMs?: number; limitMs?: number } = {},
): Promise<QuietWait> {
  const { maxBusy = 0.1, windowMs = 2000, limitMs = 90_000 } = options;
  const started = performance.now();
  const read = () => parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  for (;;) {
    const before = read();
    await sleep(windowMs);
    const share = busyShare(before, read());
    const waited = performance.now() - started;
    if (share <= maxBusy || waited >= limitMs)
      return {
        waited_s: Math.round(waited / 100) / 10,
        busy_pct: Math.round(share * 1000) / 10,
        quiet: share <= maxBusy,
      };
  }
}
