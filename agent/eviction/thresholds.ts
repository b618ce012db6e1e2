/**
 * Hard eviction thresholds, as the kubelet's --eviction-hard spells them:
 *   memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%
 * (those four are upstream's Linux defaults). A threshold is an absolute quantity or a percentage
 * of the signal's capacity. Parsing errors are one line naming the bad part.
 */
import { parseQuantity } from '../../kube/quantity.ts';

const evictionSignals = [
  'memory.available',
  'nodefs.available',
  'nodefs.inodesFree',
  'imagefs.available',
  'imagefs.inodesFree',
  'pid.available',
] as const;
export type EvictionSignal = (typeof evictionSignals)[number];

export interface Threshold {
  signal: EvictionSignal;
  /** Exactly one of the two. */
  quantity?: number;
  /** 0..1 of the signal's capacity. */
  fraction?: number;
}

export const defaultEvictionHard =
  'memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%';

export function parseThresholds(text: string): Threshold[] {
  const thresholds: Threshold[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const match = /^([a-zA-Z.]+)<(.+)$/.exec(part);
    if (match === null)
      throw new Error(`--eviction-hard: '${part}' is not <signal><<quantity or percentage>, e.g. nodefs.available<10%`);
    const [, signal, value] = match as unknown as [string, string, string];
    if (!(evictionSignals as readonly string[]).includes(signal)) {
      throw new Error(`--eviction-hard: unknown signal '${signal}'; known: ${evictionSignals.join(', ')}`);
    }
    if (thresholds.some((t) => t.signal === signal)) throw new Error(`--eviction-hard: '${signal}' is given twice`);
    if (value.endsWith('%')) {
      const percent = Number(value.slice(0, -1));
      if (!Number.isFinite(percent) || percent < 0 || percent > 100)
        throw new Error(`--eviction-hard: '${value}' for ${signal} is not a percentage between 0% and 100%`);
      if (percent > 0) thresholds.push({ signal: signal as EvictionSignal, fraction: percent / 100 });
      continue;
    }
    let quantity: number;
    try {
      quantity = parseQuantity(value);
    } catch {
      throw new Error(`--eviction-hard: '${value}' for ${signal} is not a quantity (e.g. 100Mi) or a percentage`);
    }
    if (quantity < 0) throw new Error(`--eviction-hard: '${value}' for ${signal} must not be negative`);
    if (quantity > 0) thresholds.push({ signal: signal as EvictionSignal, quantity });
  }
  return thresholds;
}

/** The threshold as a number of the signal's units, for a signal whose capacity is `capacity`. */
export function thresholdValue(threshold: Threshold, capacity: number): number {
  return threshold.quantity ?? (threshold.fraction ?? 0) * capacity;
}

/** How the threshold reads in messages: '10%' or '100Mi'. */
export function thresholdText(threshold: Threshold): string {
  if (threshold.fraction !== undefined) return `${Math.round(threshold.fraction * 10_000) / 100}%`;
  return formatBytes(threshold.quantity ?? 0);
}

/** Bytes as a Kubernetes quantity, rounded to Ki/Mi/Gi the way `kubectl describe` readers expect. */
export function formatBytes(bytes: number): string {
  const units = [
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ] as const;
  for (const [suffix, size] of units) {
    if (Math.abs(bytes) >= size) return `${Math.round(bytes / size)}${suffix}`;
  }
  return String(Math.round(bytes));
}
