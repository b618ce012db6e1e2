/**
 * The two latest points of every node and container, and the usage computed from them, with
 * metrics-server's rules: CPU is the rate between the two points (core-nanoseconds over the
 * window), memory the newer working set. Each scrape of a node replaces what is kept for it and its
 * pods, and a round ends by dropping the nodes it did not reach: a node or pod missing from a round
 * (its kubelet failed, timed out, or no longer reports it) is gone, and shows again only once two
 * fresh points are there. Kept per node, each scrape costs only its own pods as it arrives, never
 * one pause over the whole cluster. A point is never older than the one it follows; a
 * container that restarted (its start is after the kept point) begins again. A container that
 * started within one resolution (but at least 10 s ago) is measured from its start, so a new pod
 * shows after one round rather than two.
 */
import { podKey, type ContainerPoints, type MetricsPoint, type NodeScrape } from './metrics-points.ts';

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

/** What is kept of one node: the last scrape, and the points before it that still precede it. */
interface NodeEntry {
  readonly last: NodeScrape;
  readonly prevNode: MetricsPoint | undefined;
  readonly prevPods: ReadonlyMap<string, ContainerPoints>;
}

export class UsageStore {
  readonly #resolutionMs: number;
  readonly #nodes = new Map<string, NodeEntry>();

  /** `resolutionMs`: how often the kubelets are scraped (--metric-resolution). */
  constructor(resolutionMs: number) {
    this.#resolutionMs = resolutionMs;
  }

  /** Takes a node's scrape in place of its last one. */
  storeNode(name: string, scrape: NodeScrape): void {
    const kept = this.#nodes.get(name);
    const prevNode = scrape.node === undefined ? undefined : previousFor(scrape.node, kept?.last.node, kept?.prevNode);
    const prevPods = new Map<string, ContainerPoints>();
    for (const [key, containers] of scrape.pods) {
      const previous = this.#previousContainers(containers, kept?.last.pods.get(key), kept?.prevPods.get(key));
      if (previous.size > 0) prevPods.set(key, previous);
    }
    this.#nodes.set(name, { last: scrape, prevNode, prevPods });
  }

  /** Ends a round: nodes it did not scrape are forgotten, with their pods. */
  endRound(scraped: ReadonlySet<string>): void {
    for (const name of this.#nodes.keys()) if (!scraped.has(name)) this.#nodes.delete(name);
  }

  #previousContainers(
    containers: ContainerPoints,
    lastPod: ContainerPoints | undefined,
    prevPod: ContainerPoints | undefined,
  ): Map<string, MetricsPoint> {
    const previous = new Map<string, MetricsPoint>();
    for (const [name, point] of containers) {
      const age = point.timestampMs - point.startMs;
      if (point.startMs > 0 && age >= freshContainerMinimumMs && age < this.#resolutionMs) {
        // a new container: its start is a point too (no CPU used yet)
        previous.set(name, { ...point, timestampMs: point.startMs, cpuNanoSeconds: 0 });
        continue;
      }
      const kept = lastPod?.get(name);
      // restarted since the kept point: its counters began again
      if (kept === undefined || point.startMs >= kept.timestampMs) continue;
      const before = previousFor(point, kept, prevPod?.get(name));
      if (before !== undefined) previous.set(name, before);
    }
    return previous;
  }

  node(name: string): NodeUsage | undefined {
    const entry = this.#nodes.get(name);
    const last = entry?.last.node;
    return last === undefined || entry?.prevNode === undefined ? undefined : usageBetween(last, entry.prevNode);
  }

  /**
   * A pod's usage, when every container has two points; `boundTo` is the node the pod is bound to:
   * only what that node reported is believed. The timestamp and window are those of the container
   * measured earliest.
   */
  pod(boundTo: string, namespace: string, name: string): PodUsage | undefined {
    const entry = this.#nodes.get(boundTo);
    const key = podKey(namespace, name);
    const last = entry?.last.pods.get(key);
    const prev = entry?.prevPods.get(key);
    if (last === undefined || prev === undefined) return undefined;
    const containers: { name: string; usage: Usage }[] = [];
    let earliest: Measured | undefined;
    for (const [name, point] of last) {
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
    let nodes = 0;
    let containers = 0;
    for (const entry of this.#nodes.values()) {
      if (entry.prevNode !== undefined) nodes++;
      for (const pod of entry.prevPods.values()) containers += pod.size;
    }
    return { nodes, containers };
  }
}
