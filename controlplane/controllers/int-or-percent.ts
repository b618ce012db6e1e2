/**
 * maxSurge / maxUnavailable style values: an absolute number or "N%" of a total. Percentages round
 * up for surge and down for unavailability (upstream's choice: a rollout may overshoot by a pod,
 * but never take more pods down than allowed).
 */
import type { IntOrString } from '../../kube/corev1.ts';

export function scaledValue(
  value: IntOrString | undefined,
  total: number,
  roundUp: boolean,
  fallback: IntOrString,
): number {
  const raw = value ?? fallback;
  if (typeof raw === 'number') return raw;
  const percent = /^(\d+)%$/.exec(raw.trim());
  if (percent === null) {
    if (/^\d+$/.test(raw.trim())) return Number(raw);
    throw new Error(`invalid value "${raw}": must be an integer or a percentage`);
  }
  const exact = (Number(percent[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** Resolved maxSurge and maxUnavailable for `replicas`; both zero would deadlock, so unavailable becomes 1. */
export function rollingBounds(
  rolling: { maxSurge?: IntOrString; maxUnavailable?: IntOrString } | undefined,
  replicas: number,
): { maxSurge: number; maxUnavailable: number } {
  const maxSurge = scaledValue(rolling?.maxSurge, replicas, true, '25%');
  let maxUnavailable = scaledValue(rolling?.maxUnavailable, replicas, false, '25%');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}
