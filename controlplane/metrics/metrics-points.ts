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

export interface PodPoints {
  /** The node whose kubelet reported the pod: only that node's word counts for it. */
  readonly node: string;
  readonly containers: ReadonlyMap<string, MetricsPoint>;
}

/**
 * Everything one scrape round brought in: nodes by name, pods by the node that reported them and
 * their namespace and name (podKey), so a kubelet speaking of another node's pod changes nothing
 * of what is read for it.
 */
export interface MetricsBatch {
  readonly nodes: ReadonlyMap<string, MetricsPoint>;
  readonly pods: ReadonlyMap<string, PodPoints>;
}

/** A pod as reported by one node; names and namespaces hold no slash, so the key is unambiguous. */
export const podKey = (node: string, namespace: string, name: string): string => `${node}/${namespace}/${name}`;
