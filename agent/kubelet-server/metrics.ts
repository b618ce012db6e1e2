/**
 * Prometheus text for the kubelet port, with upstream's metric names: /metrics (the kubelet's own
 * gauges and counters) and /metrics/resource (what metrics-server scrapes, from the stats summary).
 */
import { PrometheusText } from '../../kube/prometheus-text.ts';
import type { VolumeUsage } from './volume-stats.ts';

type Any = Record<string, any>;

/** The kubelet marks these families stable in their help text, as upstream's registry prints them. */
const stable = (help: string) => `[STABLE] ${help}`;

interface KubeletCounts {
  nodeName: string;
  runningPods: number;
  containersByState: Record<string, number>;
  /** Requests served on the kubelet port, by path kind and status code. */
  requests: ReadonlyMap<string, number>;
  /** The pods' persistent volumes (kubelet_volume_stats_*); absent: none. */
  volumes?: readonly VolumeUsage[];
}

const volumeFamilies: readonly [string, string, keyof VolumeUsage][] = [
  ['kubelet_volume_stats_capacity_bytes', 'Capacity in bytes of the volume', 'capacityBytes'],
  ['kubelet_volume_stats_available_bytes', 'Number of available bytes in the volume', 'availableBytes'],
  ['kubelet_volume_stats_used_bytes', 'Number of used bytes in the volume', 'usedBytes'],
  ['kubelet_volume_stats_inodes', 'Maximum number of inodes in the volume', 'inodes'],
  ['kubelet_volume_stats_inodes_free', 'Number of free inodes in the volume', 'inodesFree'],
  ['kubelet_volume_stats_inodes_used', 'Number of used inodes in the volume', 'inodesUsed'],
];

/** /metrics */
export function kubeletMetricsText(counts: KubeletCounts): string {
  const b = new PrometheusText();
  b.family('kubelet_node_name', 'gauge', stable("The node's name. The count is always 1.")).sample(
    'kubelet_node_name',
    { node: counts.nodeName },
    1,
  );
  b.family('kubelet_running_pods', 'gauge', stable('Number of pods that have a running pod sandbox')).sample(
    'kubelet_running_pods',
    {},
    counts.runningPods,
  );
  b.family('kubelet_running_containers', 'gauge', stable('Number of containers currently running'));
  for (const [state, n] of Object.entries(counts.containersByState))
    b.sample('kubelet_running_containers', { container_state: state }, n);
  b.family(
    'kubelet_http_requests_total',
    'counter',
    stable('Number of the http requests received since the server started'),
  );
  for (const [key, n] of counts.requests) {
    const [method, path, code] = key.split(' ') as [string, string, string];
    b.sample('kubelet_http_requests_total', { method, path, server_type: 'readwrite', code }, n);
  }
  // one series per claim (a claim mounted by two pods of the node is one volume)
  const claims = new Map((counts.volumes ?? []).map((v) => [`${v.namespace}/${v.claim}`, v]));
  for (const [name, help, field] of volumeFamilies) {
    if (claims.size === 0) break;
    b.family(name, 'gauge', `[ALPHA] ${help}`);
    for (const v of claims.values())
      b.sample(name, { namespace: v.namespace, persistentvolumeclaim: v.claim }, v[field] as number);
  }
  return b.text();
}

const seconds = (ns: number | undefined) => (ns === undefined ? undefined : ns / 1e9);
const timeMs = (time: string | undefined) => (time ? Date.parse(time) : undefined);

/** /metrics/resource, from a stats summary (see stats.ts). */
export function resourceMetricsText(summary: Any): string {
  const b = new PrometheusText();
  const node = summary.node as Any;
  b.family(
    'node_cpu_usage_seconds_total',
    'counter',
    stable('Cumulative cpu time consumed by the node in core-seconds'),
  ).sample('node_cpu_usage_seconds_total', {}, seconds(node.cpu?.usageCoreNanoSeconds), timeMs(node.cpu?.time));
  b.family('node_memory_working_set_bytes', 'gauge', stable('Current working set of the node in bytes')).sample(
    'node_memory_working_set_bytes',
    {},
    node.memory?.workingSetBytes,
    timeMs(node.memory?.time),
  );
  const pods = summary.pods as Any[];
  b.family('pod_cpu_usage_seconds_total', 'counter', stable('Cumulative cpu time consumed by the pod in core-seconds'));
  for (const p of pods)
    b.sample(
      'pod_cpu_usage_seconds_total',
      { namespace: p.podRef.namespace, pod: p.podRef.name },
      seconds(p.cpu?.usageCoreNanoSeconds),
      timeMs(p.cpu?.time),
    );
  b.family('pod_memory_working_set_bytes', 'gauge', stable('Current working set of the pod in bytes'));
  for (const p of pods)
    b.sample(
      'pod_memory_working_set_bytes',
      { namespace: p.podRef.namespace, pod: p.podRef.name },
      p.memory?.workingSetBytes,
      timeMs(p.memory?.time),
    );
  b.family(
    'container_cpu_usage_seconds_total',
    'counter',
    stable('Cumulative cpu time consumed by the container in core-seconds'),
  );
  for (const p of pods)
    for (const c of p.containers as Any[])
      b.sample(
        'container_cpu_usage_seconds_total',
        { container: c.name, namespace: p.podRef.namespace, pod: p.podRef.name },
        seconds(c.cpu?.usageCoreNanoSeconds),
        timeMs(c.cpu?.time),
      );
  b.family('container_memory_working_set_bytes', 'gauge', stable('Current working set of the container in bytes'));
  for (const p of pods)
    for (const c of p.containers as Any[])
      b.sample(
        'container_memory_working_set_bytes',
        { container: c.name, namespace: p.podRef.namespace, pod: p.podRef.name },
        c.memory?.workingSetBytes,
        timeMs(c.memory?.time),
      );
  // a start at or after the CPU sample is not one the summary knew (it says "now" then): left out,
  // so a scraper never takes a container for restarted at every scrape
  b.family('container_start_time_seconds', 'gauge', stable('Start time of the container since unix epoch in seconds'));
  for (const p of pods)
    for (const c of p.containers as Any[]) {
      const started = timeMs(c.startTime);
      const sampled = timeMs(c.cpu?.time);
      if (started === undefined || sampled === undefined || started >= sampled) continue;
      b.sample(
        'container_start_time_seconds',
        { container: c.name, namespace: p.podRef.namespace, pod: p.podRef.name },
        started / 1000,
        sampled,
      );
    }
  b.family(
    'scrape_error',
    'gauge',
    stable('1 if there was an error while getting container metrics, 0 otherwise'),
  ).sample('scrape_error', {}, 0);
  return b.text();
}
