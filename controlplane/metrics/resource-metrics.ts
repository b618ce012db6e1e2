/**
 * The resource metrics pipeline inside `bosun server`, put together: a cache of Nodes (what to
 * scrape, and their labels), the scraper and its store, and the metrics.k8s.io API over them that
 * the aggregation layer serves as a local backend under its APIService, `v1beta1.metrics.k8s.io`
 * (metrics-server's name and priorities, with no Service: answered by this process).
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../../kube/types.ts';
import { directDialer, type KubeletDialer } from '../api/kubelet-dialer.ts';
import type { KubeletClientTls } from '../api/kubelet-proxy.ts';
import { ObjectCache } from '../api/object-cache.ts';
import type { Registry } from '../api/registry.ts';
import { findResource } from '../api/resources.ts';
import { kubeletMetricsFetcher } from './kubelet-metrics-fetch.ts';
import { defaultMetricResolutionMs, KubeletScraper } from './kubelet-scraper.ts';
import { MetricsApi, metricsGroup, metricsVersion } from './metrics-api.ts';
import { ScrapeMetrics } from './scrape-metrics.ts';
import { UsageStore } from './usage-store.ts';

export const metricsApiServiceName = `${metricsVersion}.${metricsGroup}`;

/** The APIService metrics-server registers, without its Service. */
export const metricsApiService: KubeObject = {
  apiVersion: 'apiregistration.k8s.io/v1',
  kind: 'APIService',
  metadata: { name: metricsApiServiceName },
  spec: { group: metricsGroup, version: metricsVersion, groupPriorityMinimum: 100, versionPriority: 100 },
};

interface ResourceMetricsOptions {
  readonly registry: Registry;
  /** Every pod, kept in memory by the server (its pods-by-node cache). */
  readonly pods: ObjectCache;
  readonly kubeletClient: KubeletClientTls;
  readonly dialer?: KubeletDialer;
  /** --metric-resolution (default 15 s). */
  readonly resolutionMs?: number;
  readonly logger: Logger;
}

export class ResourceMetrics {
  readonly api: MetricsApi;
  readonly #nodes: ObjectCache;
  readonly #scraper: KubeletScraper;
  readonly #store: UsageStore;
  readonly #metrics = new ScrapeMetrics();
  #clientTls: KubeletClientTls;

  constructor(options: ResourceMetricsOptions) {
    const resolutionMs = options.resolutionMs ?? defaultMetricResolutionMs;
    this.#clientTls = options.kubeletClient;
    this.#nodes = new ObjectCache(options.registry, findResource('', 'v1', 'nodes')!);
    const store = new UsageStore(resolutionMs);
    this.#store = store;
    const nodes = this.#nodes;
    this.#scraper = new KubeletScraper({
      nodes: () => nodes.listAll(),
      fetch: kubeletMetricsFetcher(options.dialer ?? directDialer, () => this.#clientTls),
      store,
      resolutionMs,
      logger: options.logger,
      metrics: this.#metrics,
    });
    this.api = new MetricsApi({
      node: (name) => nodes.get(undefined, name),
      nodes: () => nodes.listAll(),
      pod: (namespace, name) => options.pods.get(namespace, name),
      pods: (namespace) => (namespace === undefined ? options.pods.listAll() : options.pods.listIn(namespace)),
      nodeUsage: (name) => store.node(name),
      podUsage: (node, namespace, name) => store.pod(node, namespace, name),
      now: () => Date.now(),
    });
  }

  /** Starts following nodes and scraping them; requests are answered from the first round on. */
  async start(): Promise<void> {
    await this.#nodes.start();
    this.#scraper.start();
  }

  /** Prometheus text for the server's /metrics. */
  metricsText(): string {
    return this.#metrics.render(this.#store.counts);
  }

  /** A renewed kubelet client certificate, from the next scrape on. */
  useClientTls(tls: KubeletClientTls): void {
    this.#clientTls = tls;
  }

  async stop(): Promise<void> {
    await this.#scraper.stop();
    this.#nodes.stop();
  }
}
