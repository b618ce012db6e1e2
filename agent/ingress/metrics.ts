/**
 * The ingress proxy's Prometheus metrics, beside the service proxy's on the agent's /metrics:
 * requests by Ingress, Service and status code, and a latency histogram by Ingress and Service
 * (the families ingress-nginx and Traefik dashboards read, under bosun's own names).
 */
import { PrometheusText } from '../../kube/prometheus-text.ts';

/** Seconds, as ingress-nginx's request duration buckets. */
const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

interface RequestRecord {
  /** `namespace/name`; '' when no Ingress matched. */
  ingress: string;
  /** The Service name; '' when none. */
  service: string;
  code: number;
  seconds: number;
}

export class IngressMetrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  #retries = 0;

  record(r: RequestRecord): void {
    const key = `${r.ingress}\u0000${r.service}\u0000${r.code}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    const series = `${r.ingress}\u0000${r.service}`;
    let h = this.#latency.get(series);
    if (h === undefined) {
      h = { counts: buckets.map(() => 0), sum: 0, count: 0 };
      this.#latency.set(series, h);
    }
    for (let i = 0; i < buckets.length; i++) if (r.seconds <= buckets[i]!) h.counts[i]!++;
    h.sum += r.seconds;
    h.count++;
  }

  retried(): void {
    this.#retries++;
  }

  text(): string {
    const out = new PrometheusText();
    const labels = (series: string) => {
      const [ingress = '', service = ''] = series.split('\u0000');
      const slash = ingress.indexOf('/');
      return { namespace: ingress.slice(0, Math.max(slash, 0)), ingress: ingress.slice(slash + 1), service };
    };
    out.family(
      'bosun_ingress_requests_total',
      'counter',
      'Requests the ingress proxy answered, by Ingress, Service and status code',
    );
    for (const [key, value] of this.#requests) {
      const code = key.slice(key.lastIndexOf('\u0000') + 1);
      out.sample('bosun_ingress_requests_total', { ...labels(key), code }, value);
    }
    out.family(
      'bosun_ingress_request_duration_seconds',
      'histogram',
      'Time from a request to the end of its response through the ingress proxy',
    );
    for (const [series, h] of this.#latency)
      out.histogram('bosun_ingress_request_duration_seconds', labels(series), buckets, h.counts, h.sum, h.count);
    out.family(
      'bosun_ingress_upstream_retries_total',
      'counter',
      'Requests sent again to another endpoint after a connect failure',
    );
    out.sample('bosun_ingress_upstream_retries_total', {}, this.#retries);
    return out.text();
  }
}
