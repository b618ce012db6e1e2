/**
 * The proxy's Prometheus metrics, under kube-proxy's names so existing dashboards work.
 * The text itself is written by the shared kube/prometheus-text.ts.
 */
import { PrometheusText } from '../kube/prometheus-text.ts';

/** kube-proxy's buckets: 1 ms doubling 15 times (to about 16 s). */
const syncBuckets: readonly number[] = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);
/** Network programming takes longer: 0.25 s steps up to a minute, then coarser. */
const programmingBuckets: readonly number[] = [
  ...Array.from({ length: 20 }, (_, i) => 0.25 * (i + 1)),
  6,
  7,
  8,
  9,
  10,
  15,
  20,
  25,
  30,
  45,
  60,
  120,
  180,
  240,
  300,
];

class Histogram {
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(name: string, help: string, buckets: readonly number[]) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
    this.counts = buckets.map(() => 0);
  }
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (seconds <= this.buckets[i]!) this.counts[i]!++;
  }
  writeTo(out: PrometheusText): void {
    out
      .family(this.name, 'histogram', this.help)
      .histogram(this.name, {}, this.buckets, this.counts, this.sum, this.count);
  }
}

class Scalar {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  value = 0;
  constructor(name: string, help: string, type: 'counter' | 'gauge') {
    this.name = name;
    this.help = help;
    this.type = type;
  }
  writeTo(out: PrometheusText): void {
    out.family(this.name, this.type, this.help).sample(this.name, {}, this.value);
  }
}

export class ProxyMetrics {
  readonly syncDuration = new Histogram(
    'kubeproxy_sync_proxy_rules_duration_seconds',
    'SyncProxyRules latency in seconds',
    syncBuckets,
  );
  readonly fullSyncDuration = new Histogram(
    'kubeproxy_sync_full_proxy_rules_duration_seconds',
    'SyncProxyRules latency in seconds for full resyncs',
    syncBuckets,
  );
  readonly partialSyncDuration = new Histogram(
    'kubeproxy_sync_partial_proxy_rules_duration_seconds',
    'SyncProxyRules latency in seconds for partial resyncs',
    syncBuckets,
  );
  readonly programmingDuration = new Histogram(
    'kubeproxy_network_programming_duration_seconds',
    'In-cluster network programming latency in seconds',
    programmingBuckets,
  );
  readonly lastSyncTimestamp = new Scalar(
    'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
    'The last time proxy rules were successfully synced',
    'gauge',
  );
  readonly lastQueuedTimestamp = new Scalar(
    'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
    'The last time a sync of proxy rules was queued',
    'gauge',
  );
  readonly restoreFailures = new Scalar(
    'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
    'Cumulative proxy iptables restore failures',
    'counter',
  );
  readonly partialRestoreFailures = new Scalar(
    'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
    'Cumulative proxy iptables partial restore failures',
    'counter',
  );
  readonly totalRules = new Scalar(
    'kubeproxy_sync_proxy_rules_iptables_total',
    'Total number of iptables rules owned by the proxy',
    'gauge',
  );
  readonly noLocalEndpoints = new Scalar(
    'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
    'Number of services with a Local traffic policy and no endpoints on this node',
    'gauge',
  );

  text(): string {
    const out = new PrometheusText();
    for (const metric of [
      this.syncDuration,
      this.fullSyncDuration,
      this.partialSyncDuration,
      this.programmingDuration,
      this.lastSyncTimestamp,
      this.lastQueuedTimestamp,
      this.restoreFailures,
      this.partialRestoreFailures,
      this.totalRules,
      this.noLocalEndpoints,
    ])
      metric.writeTo(out);
    return out.text();
  }
}
