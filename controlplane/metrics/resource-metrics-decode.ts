/**
 * A kubelet's /metrics/resource answer, read as metrics-server reads it: the node's
 * node_cpu_usage_seconds_total and node_memory_working_set_bytes, and per container
 * container_cpu_usage_seconds_total, container_memory_working_set_bytes and
 * container_start_time_seconds. A sample without a timestamp is taken as measured when the request
 * was sent. Incomplete points are dropped as metrics-server drops them: a node without CPU, memory
 * or a time, and a whole pod when one of its containers reports zero CPU or zero memory (a
 * container that has not been measured yet would otherwise read as idle).
 */
import { readPrometheusText } from '../../kube/prometheus-text-reader.ts';
import { podKey, type MetricsPoint, type NodeScrape } from './metrics-points.ts';

interface Partial {
  startMs: number;
  timestampMs: number;
  cpuNanoSeconds: number;
  memoryBytes: number;
}

const empty = (): Partial => ({ startMs: 0, timestampMs: 0, cpuNanoSeconds: 0, memoryBytes: 0 });
const isEmpty = (p: Partial) => p.startMs === 0 && p.timestampMs === 0 && p.cpuNanoSeconds === 0 && p.memoryBytes === 0;
/** Finite and not negative; anything else a kubelet sends is read as not measured. */
const measured = (value: number) => (Number.isFinite(value) && value > 0 ? value : 0);

/** One node's scrape; throws when the text is not Prometheus text at all. */
export function decodeResourceMetrics(text: string, requestTimeMs: number): NodeScrape {
  const node = empty();
  const pods = new Map<string, { containers: Map<string, Partial> }>();
  const containerOf = (labels: Readonly<Record<string, string>>): Partial | undefined => {
    const { namespace, pod, container } = labels;
    if (!namespace || !pod || !container) return undefined;
    const key = podKey(namespace, pod);
    let entry = pods.get(key);
    if (entry === undefined) pods.set(key, (entry = { containers: new Map() }));
    let point = entry.containers.get(container);
    if (point === undefined) entry.containers.set(container, (point = empty()));
    return point;
  };
  for (const sample of readPrometheusText(text)) {
    const at = sample.timestampMs ?? requestTimeMs;
    switch (sample.name) {
      case 'node_cpu_usage_seconds_total':
        node.cpuNanoSeconds = measured(sample.value) * 1e9;
        node.timestampMs = at;
        break;
      case 'node_memory_working_set_bytes':
        node.memoryBytes = measured(sample.value);
        node.timestampMs = at;
        break;
      case 'container_cpu_usage_seconds_total': {
        const point = containerOf(sample.labels);
        if (point === undefined) break;
        point.cpuNanoSeconds = measured(sample.value) * 1e9;
        point.timestampMs = at;
        break;
      }
      case 'container_memory_working_set_bytes': {
        const point = containerOf(sample.labels);
        if (point === undefined) break;
        point.memoryBytes = measured(sample.value);
        point.timestampMs = at;
        break;
      }
      case 'container_start_time_seconds': {
        const point = containerOf(sample.labels);
        if (point !== undefined) point.startMs = measured(sample.value) * 1000;
        break;
      }
    }
  }
  const complete = node.timestampMs > 0 && node.cpuNanoSeconds > 0 && node.memoryBytes > 0;
  const podPoints = new Map<string, Map<string, MetricsPoint>>();
  for (const [key, pod] of pods) {
    const containers = new Map<string, MetricsPoint>();
    let measuredAll = true;
    for (const [name, point] of pod.containers) {
      if (isEmpty(point)) continue;
      if (point.cpuNanoSeconds === 0 || point.memoryBytes === 0) measuredAll = false;
      containers.set(name, point);
    }
    if (measuredAll && containers.size > 0) podPoints.set(key, containers);
  }
  return { node: complete ? node : undefined, pods: podPoints };
}
