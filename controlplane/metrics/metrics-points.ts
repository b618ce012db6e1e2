/**
 * What one scrape of a kubelet's /metrics/resource yields: a point for the node and one per
 * container of each pod it runs. Cumulative CPU and the working set, with the moment they were
 * measured and the moment the node or container started (cumulative CPU is zero then).
 */

export interface MetricsPoint {
  /** When the node or container started, in ms since the epoch; 0 when the kubelet did not say. */
  readonly startMs: number;
  /** When the point was measured (the CPU sample's time), in ms since the epoch. */
  readonly timestampMs: number;
  /** CPU time used since the start, in core-nanoseconds. */
  readonly cpuNanoSeconds: number;
  /** Working set, in bytes. */
  readonly memoryBytes: number;
}

/** Containers by name. */
export type ContainerPoints = ReadonlyMap<string, MetricsPoint>;

/**
 * One node's scrape: its own point (absent when incomplete) and its pods' containers, by
 * `namespace/name`. Kept per node, so a kubelet speaking of another node's pod changes nothing of
 * what is read for that pod.
 */
export interface NodeScrape {
  readonly node: MetricsPoint | undefined;
  readonly pods: ReadonlyMap<string, ContainerPoints>;
}

/** Names and namespaces hold no slash, so the key is unambiguous. */
export const podKey = (namespace: string, name: string): string => `${namespace}/${name}`;
