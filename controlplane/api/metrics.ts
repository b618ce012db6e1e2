/**
 * The API server's Prometheus metrics, with upstream's names so existing dashboards read them:
 * apiserver_request_total, apiserver_request_duration_seconds (histogram),
 * apiserver_current_inflight_requests, apiserver_registered_watchers and
 * apiserver_watch_events_total; and the JavaScript heap under the names Node's Prometheus client
 * gives it (nodejs_heap_size_used_bytes, nodejs_heap_size_total_bytes, nodejs_external_memory_bytes),
 * with nodejs_array_buffers_bytes (the part of the external memory that is Buffers), which tell how much of the resident memory is live objects, heap kept for later, or buffers.
 * Rendered as Prometheus text on GET /metrics.
 */
import { PrometheusText } from '../../kube/prometheus-text.ts';

const durationBuckets = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 5, 10, 30, 60];

export interface RequestLabels {
  readonly verb: string;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource: string;
  readonly scope: string;
  readonly code: number;
}

interface Histogram {
  labels: Record<string, string>;
  counts: number[];
  sum: number;
  count: number;
}

export class ApiMetrics {
  readonly #requests = new Map<string, { labels: Record<string, string | number>; value: number }>();
  readonly #durations = new Map<string, Histogram>();
  readonly #watchEvents = new Map<string, { labels: Record<string, string>; value: number }>();
  readonly #watchers = new Map<string, { labels: Record<string, string>; value: number }>();
  #inflight = { readOnly: 0, mutating: 0 };

  /** Counts a request in flight until the returned function is called. */
  begin(mutating: boolean): () => void {
    const kind = mutating ? 'mutating' : 'readOnly';
    this.#inflight[kind]++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inflight[kind]--;
    };
  }

  observeRequest(labels: RequestLabels, seconds: number): void {
    const counterLabels = {
      verb: labels.verb,
      group: labels.group,
      version: labels.version,
      resource: labels.resource,
      subresource: labels.subresource,
      scope: labels.scope,
      component: 'apiserver',
      code: labels.code,
    };
    const key = JSON.stringify(counterLabels);
    const counter = this.#requests.get(key) ?? { labels: counterLabels, value: 0 };
    counter.value++;
    this.#requests.set(key, counter);
    // Long-running requests (watches, streams) would drown the latency histogram, as upstream notes.
    if (labels.verb === 'WATCH' || labels.verb === 'CONNECT') return;
    const histogramLabels = {
      verb: labels.verb,
      group: labels.group,
      version: labels.version,
      resource: labels.resource,
      subresource: labels.subresource,
      scope: labels.scope,
      component: 'apiserver',
    };
    const hKey = JSON.stringify(histogramLabels);
    const histogram = this.#durations.get(hKey) ?? {
      labels: histogramLabels,
      counts: durationBuckets.map(() => 0),
      sum: 0,
      count: 0,
    };
    durationBuckets.forEach((bound, i) => {
      if (seconds <= bound) histogram.counts[i]!++;
    });
    histogram.sum += seconds;
    histogram.count++;
    this.#durations.set(hKey, histogram);
  }

  watcherStarted(group: string, version: string, kind: string): () => void {
    const labels = { group, version, kind };
    const key = JSON.stringify(labels);
    const gauge = this.#watchers.get(key) ?? { labels, value: 0 };
    gauge.value++;
    this.#watchers.set(key, gauge);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      gauge.value--;
    };
  }

  watchEvent(group: string, version: string, kind: string): void {
    const labels = { group, version, kind };
    const key = JSON.stringify(labels);
    const counter = this.#watchEvents.get(key) ?? { labels, value: 0 };
    counter.value++;
    this.#watchEvents.set(key, counter);
  }

  render(): string {
    const b = new PrometheusText();
    b.family(
      'apiserver_request_total',
      'counter',
      'Requests answered, by verb, group, version, resource, subresource, scope and HTTP code.',
    );
    for (const { labels, value } of this.#requests.values()) b.sample('apiserver_request_total', labels, value);
    b.family(
      'apiserver_request_duration_seconds',
      'histogram',
      'Time to answer a request, in seconds (watches and streams excluded).',
    );
    for (const h of this.#durations.values())
      b.histogram('apiserver_request_duration_seconds', h.labels, durationBuckets, h.counts, h.sum, h.count);
    b.family(
      'apiserver_current_inflight_requests',
      'gauge',
      'Requests being served right now, read-only and mutating.',
    );
    b.sample('apiserver_current_inflight_requests', { request_kind: 'readOnly' }, this.#inflight.readOnly);
    b.sample('apiserver_current_inflight_requests', { request_kind: 'mutating' }, this.#inflight.mutating);
    b.family('apiserver_registered_watchers', 'gauge', 'Open watches, by group, version and kind.');
    for (const { labels, value } of this.#watchers.values()) b.sample('apiserver_registered_watchers', labels, value);
    b.family('apiserver_watch_events_total', 'counter', 'Events written to watch clients, by group, version and kind.');
    for (const { labels, value } of this.#watchEvents.values()) b.sample('apiserver_watch_events_total', labels, value);
    const heap = process.memoryUsage();
    b.family('nodejs_heap_size_used_bytes', 'gauge', 'JavaScript heap in use, in bytes.');
    b.sample('nodejs_heap_size_used_bytes', {}, heap.heapUsed);
    b.family('nodejs_heap_size_total_bytes', 'gauge', 'JavaScript heap reserved (in use and free), in bytes.');
    b.sample('nodejs_heap_size_total_bytes', {}, heap.heapTotal);
    b.family(
      'nodejs_external_memory_bytes',
      'gauge',
      'Memory of buffers and other objects outside the heap, in bytes.',
    );
    b.sample('nodejs_external_memory_bytes', {}, heap.external);
    b.family(
      'nodejs_array_buffers_bytes',
      'gauge',
      'Memory of ArrayBuffers and Buffers (part of the external memory), in bytes.',
    );
    b.sample('nodejs_array_buffers_bytes', {}, heap.arrayBuffers);
    return b.text();
  }
}
