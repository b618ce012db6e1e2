/**
 * metrics.k8s.io/v1beta1 PodMetrics → one sample per pod of one resource, as upstream's resource
 * metrics client reads them: a pod's usage is the sum over its containers (or one named
 * container's), and a pod that lacks the resource in any container it reports, or reports no
 * container at all, has no sample (it counts as missing).
 */
import type { PodSample } from './replica-calculator.ts';
import { milliValue } from './replica-calculator.ts';

type Any = Record<string, any>;

const durationUnits: Readonly<Record<string, number>> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 1e-6,
};

/** A Go duration string ("15s", "1m0.5s", "30.012s") in milliseconds; 0 when unreadable. */
function goDurationMs(text: unknown): number {
  if (typeof text !== 'string') return 0;
  let total = 0;
  const pattern = /(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g;
  let consumed = 0;
  for (const match of text.matchAll(pattern)) {
    total += Number(match[1]) * durationUnits[match[2]!]!;
    consumed += match[0].length;
  }
  return consumed === text.length ? total : 0;
}

export function podSamples(items: readonly Any[], resource: string, container: string): Map<string, PodSample> {
  const samples = new Map<string, PodSample>();
  for (const item of items) {
    const name = item?.metadata?.name;
    if (typeof name !== 'string') continue;
    const containers: Any[] = Array.isArray(item.containers) ? item.containers : [];
    let sum = 0;
    let missing = containers.length === 0;
    let found = container === '';
    for (const c of containers) {
      if (container !== '' && c?.name !== container) continue;
      found = true;
      const usage = c?.usage?.[resource];
      if (usage === undefined || usage === null) {
        missing = true;
        break;
      }
      try {
        sum += milliValue(usage);
      } catch {
        missing = true;
        break;
      }
    }
    if (missing || !found) continue;
    samples.set(name, {
      milliValue: sum,
      timestampMs: typeof item.timestamp === 'string' ? Date.parse(item.timestamp) : 0,
      windowMs: goDurationMs(item.window),
    });
  }
  return samples;
}
