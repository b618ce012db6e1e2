/**
 * The two latest points of every node and container, and the usage computed from them, with
 * metrics-server's rules: CPU is the rate between the two points (core-nanoseconds over the
 * window), memory the newer working set. Each round replaces what is kept: a node or pod missing
 * from a round (its kubelet failed, timed out, or no longer reports it) is dropped, and shows again
 * only once two fresh points are there. A point is never older than the one it follows; a
 * container that restarted (its start is after the kept point) begins again. A container that
 * started within one resolution (but at least 10 s ago) is measured from its start, so a new pod
 * shows after one round rather than two.
 */
import { podKey, type MetricsBatch, type MetricsPoint, type PodPoints } from './metrics-points.ts';

/** A container younger than this is not measured from its start: the first seconds are too noisy. */
const freshContainerMinimumMs = 10_000;

export interface Usage {
  /** CPU in nanocores. */
  readonly cpuNanoCores: number;
  readonly memoryBytes: number;
}

export interface Measured {
  /** When the newer point was measured (ms since the epoch). */
  readonly timestampMs: number;
  /** The time between the two points, in ms. */
  readonly windowMs: number;
}

export interface NodeUsage extends Measured {
  readonly usage: Usage;
}

export interface PodUsage extends Measured {
  readonly containers: readonly { readonly name: string; readonly usage: Usage }[];
}

/** Usage between two points; undefined when they cannot be compared (a restart, a counter that went back). */
function usageBetween(last: MetricsPoint, prev: MetricsPoint): (Measured & { usage: Usage }) | undefined {
  if (last.startMs < prev.startMs || last.cpuNanoSeconds < prev.cpuNanoSeconds) return undefined;
  const windowMs = last.timestampMs - prev.timestampMs;
  if (windowMs <= 0) return undefined;
  return {
    timestampMs: last.timestampMs,
    windowMs,
    usage: {
      cpuNanoCores: Math.floor((last.cpuNanoSeconds - prev.cpuNanoSeconds) / (windowMs / 1000)),
      memoryBytes: last.memoryBytes,
    },
  };
}

/** The point to keep before `next`, given what was kept for it last round. */
function previousFor(
  next: MetricsPoint,
  last: MetricsPoint | undefined,
  prev: MetricsPoint | undefined,
): MetricsPoint | undefined {
  if (last === undefined) return undefined;
  if (next.timestampMs > last.timestampMs) return last;
  // the kubelet answered with the same (or an older) sample: keep the older pair if it still precedes
  return prev !== undefined && prev.timestampMs < next.timestampMs ? prev : undefined;
}

export class UsageStore {
  readonly #resolutionMs: number;
  #lastNodes = new Map<string, MetricsPoint>();
  #prevNodes = new Map<string, MetricsPoint>();
  #lastPods = new Map<string, PodPoints>();
  #prevPods = new Map<string, ReadonlyMap<string, MetricsPoint>>();

  /** `resolutionMs`: how often the kubelets are scraped (--metric-resolution). */
  constructor(resolutionMs: number) {
    this.#resolutionMs = resolutionMs;
  }

  /** Takes one round's points in place of the last round's. */
  store(batch: MetricsBatch): void {
    const prevNodes = new Map<string, MetricsPoint>();
    for (const [name, point] of batch.nodes) {
      const previous = previousFor(point, this.#lastNodes.get(name), this.#prevNodes.get(name));
      if (previous !== undefined) prevNodes.set(name, previous);
    }
    const prevPods = new Map<string, ReadonlyMap<string, MetricsPoint>>();
    for (const [key, pod] of batch.pods) {
      const lastPod = this.#lastPods.get(key);
      const prevPod = this.#prevPods.get(key);
      const previous = new Map<string, MetricsPoint>();
      for (const [name, point] of pod.containers) {
        const age = point.timestampMs - point.startMs;
        if (point.startMs > 0 && age >= freshContainerMinimumMs && age < this.#resolutionMs) {
          // a new container: its start is a point too (no CPU used yet)
          previous.set(name, { ...point, timestampMs: point.startMs, cpuNanoSeconds: 0 });
          continue;
        }
        const kept = lastPod?.containers.get(name);
        // restarted since the kept point: its counters began again
        if (kept === undefined || point.startMs >= kept.timestampMs) continue;
        const before = previousFor(point, kept, prevPod?.get(name));
        if (before !== undefined) previous.set(name, before);
      }
      if (previous.size > 0) prevPods.set(key, previous);
    }
    this.#lastNodes = new Map(batch.nodes);
    this.#prevNodes = prevNodes;
    this.#lastPods = new Map(batch.pods);
    this.#prevPods = prevPods;
  }

  node(name: string): NodeUsage | undefined {
    const last = this.#lastNodes.get(name);
    const prev = this.#prevNodes.get(name);
    return last === undefined || prev === undefined ? undefined : usageBetween(last, prev);
  }

  /**
   * A pod's usage, when every container has two points; `boundTo` is the node the pod is bound to:
   * only what that node reported is believed. The timestamp and window are those of the container
   * measured earliest.
   */
  pod(boundTo: string, namespace: string, name: string): PodUsage | undefined {
    const key = podKey(boundTo, namespace, name);
    const last = this.#lastPods.get(key);
    const prev = this.#prevPods.get(key);
    if (last === undefined || prev === undefined) return undefined;
    const containers: { name: string; usage: Usage }[] = [];
    let earliest: Measured | undefined;
    for (const [name, point] of last.containers) {
      const before = prev.get(name);
      if (before === undefined) return undefined;
      const measured = usageBetween(point, before);
      if (measured === undefined) continue;
      containers.push({ name, usage: measured.usage });
      if (earliest === undefined || measured.timestampMs < earliest.timestampMs) earliest = measured;
    }
    containers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { timestampMs: earliest?.timestampMs ?? 0, windowMs: earliest?.windowMs ?? 0, containers };
  }

  /** How many nodes and containers have usage to show (two points). */
  get counts(): { nodes: number; containers: number } {
    let containers = 0;
    for (const pod of this.#prevPods.values()) containers += pod.size;
    return { nodes: this.#prevNodes.size, containers };
  }
}
