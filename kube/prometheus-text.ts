/**
 * The Prometheus text exposition format (version 0.0.4), written once for every daemon's /metrics:
 * the kubelet port, the API server and the proxy. Each daemon keeps its own counters and metric
 * names (upstream's, so dashboards keep working); this module only turns them into text.
 */
import { readdirSync } from 'node:fs';

type MetricType = 'counter' | 'gauge' | 'histogram';
type MetricLabels = Readonly<Record<string, string | number>>;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{a="1",b="x"}`, or nothing when there are no labels. */
function labelText(labels: MetricLabels): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(String(value))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class PrometheusText {
  readonly #lines: string[] = [];

  /** The HELP and TYPE lines that open a metric family. */
  family(name: string, type: MetricType, help: string): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** One sample; an unknown value (undefined or NaN) writes nothing rather than a false 0. */
  sample(name: string, labels: MetricLabels, value: number | undefined, timestampMs?: number): this {
    if (value === undefined || Number.isNaN(value)) return this;
    this.#lines.push(`${name}${labelText(labels)} ${value}${timestampMs !== undefined ? ` ${timestampMs}` : ''}`);
    return this;
  }

  /** One histogram's series: cumulative `counts` per upper bound in `buckets`, then +Inf, sum and count. */
  histogram(
    name: string,
    labels: MetricLabels,
    buckets: readonly number[],
    counts: readonly number[],
    sum: number,
    count: number,
  ): this {
    buckets.forEach((bound, i) =>
      this.#lines.push(`${name}_bucket${labelText({ ...labels, le: bound })} ${counts[i]}`),
    );
    this.#lines.push(
      `${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`,
      `${name}_sum${labelText(labels)} ${sum}`,
      `${name}_count${labelText(labels)} ${count}`,
    );
    return this;
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

/** What the process_* family reports, read at one moment. */
interface ProcessSample {
  cpuSeconds: number;
  residentBytes: number;
  startTimeSeconds: number;
  /** Undefined where /proc/self/fd cannot be read. */
  openFds: number | undefined;
}

function sampleProcess(): ProcessSample {
  const cpu = process.cpuUsage();
  let openFds: number | undefined;
  try {
    openFds = readdirSync('/proc/self/fd').length;
  } catch {
    openFds = undefined;
  }
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: process.memoryUsage.rss(),
    startTimeSeconds: Math.floor(performance.timeOrigin / 1000),
    openFds,
  };
}

/**
 * The process_* metrics that every upstream component exposes (client_golang's process collector),
 * under the same names, so a node's daemons show up on the usual process dashboards.
 */
export function processMetricsText(sample: ProcessSample = sampleProcess()): string {
  return new PrometheusText()
    .family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.')
    .sample('process_cpu_seconds_total', {}, sample.cpuSeconds)
    .family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.')
    .sample('process_resident_memory_bytes', {}, sample.residentBytes)
    .family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.')
    .sample('process_start_time_seconds', {}, sample.startTimeSeconds)
    .family('process_open_fds', 'gauge', 'Number of open file descriptors.')
    .sample('process_open_fds', {}, sample.openFds)
    .text();
}
