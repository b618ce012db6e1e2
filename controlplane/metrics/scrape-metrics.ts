/**
 * How scraping goes, on the API server's /metrics, with metrics-server's names so its dashboards
 * and alerts read them: kubelet requests by success and their duration, how long each round took,
 * and how many nodes and containers have usage to show. No per-node series: a thousand nodes would
 * make a thousand of each.
 */
import { PrometheusText } from '../../kube/prometheus-text.ts';

/** metrics-server's buckets (Prometheus' defaults). */
const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = buckets.map(() => 0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    buckets.forEach((bound, i) => {
      if (seconds <= bound) this.counts[i]!++;
    });
    this.sum += seconds;
    this.count++;
  }
}

export class ScrapeMetrics {
  #succeeded = 0;
  #failed = 0;
  readonly #requests = new Histogram();
  readonly #rounds = new Histogram();

  request(success: boolean, seconds: number): void {
    if (success) this.#succeeded++;
    else this.#failed++;
    this.#requests.observe(seconds);
  }

  round(seconds: number): void {
    this.#rounds.observe(seconds);
  }

  render(stored: { nodes: number; containers: number }): string {
    const b = new PrometheusText();
    b.family('metrics_server_kubelet_request_total', 'counter', '[ALPHA] Number of requests sent to Kubelet API')
      .sample('metrics_server_kubelet_request_total', { success: 'true' }, this.#succeeded)
      .sample('metrics_server_kubelet_request_total', { success: 'false' }, this.#failed);
    const histogram = (name: string, help: string, h: Histogram) =>
      b.family(name, 'histogram', help).histogram(name, {}, buckets, h.counts, h.sum, h.count);
    histogram(
      'metrics_server_kubelet_request_duration_seconds',
      '[ALPHA] Duration of requests to Kubelet API in seconds',
      this.#requests,
    );
    histogram(
      'metrics_server_manager_tick_duration_seconds',
      '[ALPHA] The total time spent collecting and storing metrics in seconds',
      this.#rounds,
    );
    b.family('metrics_server_storage_points', 'gauge', '[ALPHA] Number of metrics points stored.')
      .sample('metrics_server_storage_points', { type: 'node' }, stored.nodes)
      .sample('metrics_server_storage_points', { type: 'container' }, stored.containers);
    return b.text();
  }
}
