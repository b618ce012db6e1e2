/**
 * Scrapes every node's /metrics/resource once per resolution (--metric-resolution, 15 s) in the
 * background, as metrics-server does, and hands each round to the UsageStore. No request waits on
 * it: the API answers from the store. At most `concurrency` kubelets are asked at once and each has
 * `timeoutMs` to answer, so a thousand nodes, or a few that hang, cost the server a bounded number
 * of sockets and one round at a time; a round that outlasts the resolution delays the next rather
 * than overlapping it. A node that fails (unreachable, slow, garbled, oversized) is left out of
 * that round, and so out of the API until it has answered twice again.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock, type TimerHandle } from '../../kube/clock.ts';
import type { KubeObject } from '../../kube/types.ts';
import { kubeletAddress } from '../api/kubelet-proxy.ts';
import type { FetchResourceMetrics, ScrapeTarget } from './kubelet-metrics-fetch.ts';
import type { NodeScrape } from './metrics-points.ts';
import { decodeResourceMetrics } from './resource-metrics-decode.ts';
import type { ScrapeMetrics } from './scrape-metrics.ts';
import type { UsageStore } from './usage-store.ts';

export const defaultMetricResolutionMs = 15_000;
/** metrics-server's --kubelet-request-timeout default. */
const defaultTimeoutMs = 10_000;
const defaultConcurrency = 64;
/**
 * metrics-server staggers a round's requests over 8 ms per node, at most 4 s, so that a thousand
 * kubelets are not asked in one burst; the API's requests interleave with a round rather than queue
 * behind it.
 */
const staggerPerNodeMs = 8;
const maxStaggerMs = 4_000;

interface ScraperOptions {
  /** The nodes to scrape (from memory: the server's node cache). */
  readonly nodes: () => Promise<readonly KubeObject[]>;
  readonly fetch: FetchResourceMetrics;
  readonly store: UsageStore;
  readonly resolutionMs?: number;
  /** How long one kubelet may take; at most 90 % of the resolution. */
  readonly timeoutMs?: number;
  /** Kubelets asked at once. */
  readonly concurrency?: number;
  /** How long a round's starts are spread over (default metrics-server's: 8 ms per node, at most 4 s). */
  readonly spreadMs?: (nodes: number) => number;
  readonly clock?: Clock;
  readonly logger: Logger;
  /** Where requests and rounds are counted for /metrics. */
  readonly metrics?: ScrapeMetrics;
}

interface RoundReport {
  readonly nodes: number;
  readonly scraped: number;
  readonly failed: number;
  readonly durationMs: number;
}

function isReady(node: KubeObject): boolean {
  const conditions = ((node.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ??
    []) as { type: string; status: string }[];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Where a node's kubelet port is, when the node says: a kubelet advertises its port in
 * daemonEndpoints. A Node object without one (written by hand, or by an agent that serves no
 * kubelet port) is not dialled at all, so no address it names is ever sent a packet on a guess.
 */
function targetOf(node: KubeObject): ScrapeTarget | undefined {
  const advertised = (node.status as { daemonEndpoints?: { kubeletEndpoint?: { Port?: unknown } } } | undefined)
    ?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (typeof advertised !== 'number' || advertised <= 0) return undefined;
  try {
    return { node: node.metadata.name ?? '', ...kubeletAddress(node) };
  } catch {
    return undefined; // no address yet: nothing to ask
  }
}

export class KubeletScraper {
  readonly #options: ScraperOptions;
  readonly #clock: Clock;
  readonly #resolutionMs: number;
  readonly #timeoutMs: number;
  #timer: TimerHandle | undefined;
  #running = false;
  #stopped = false;
  /** Aborts the scrapes in flight when the scraper stops (a hung kubelet must not hold a shutdown). */
  #stopping = new AbortController();
  #round: Promise<RoundReport> | undefined;

  constructor(options: ScraperOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#resolutionMs = options.resolutionMs ?? defaultMetricResolutionMs;
    this.#timeoutMs = Math.min(options.timeoutMs ?? defaultTimeoutMs, Math.floor(this.#resolutionMs * 0.9));
  }

  /** Scrapes now, then once per resolution until stop(). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopped = false;
    this.#stopping = new AbortController();
    this.#tick();
  }

  #tick(): void {
    if (this.#stopped) return;
    const started = this.#clock.now();
    this.#round = this.scrapeOnce();
    void this.#round.then(
      () => this.#next(started),
      (err: unknown) => {
        this.#options.logger.warn({ err }, 'a metrics scrape round failed');
        this.#next(started);
      },
    );
  }

  #next(startedMs: number): void {
    if (this.#stopped) return;
    const wait = Math.max(0, startedMs + this.#resolutionMs - this.#clock.now());
    this.#timer = this.#clock.after(wait, () => this.#tick());
  }

  /** Stops scraping: the scrapes in flight are abandoned, and the round they belong to ends. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort(new Error('the scraper stopped'));
    this.#running = false;
    this.#timer?.cancel();
    await this.#round?.catch(() => undefined);
  }

  /** One round over every node, fetched with bounded concurrency; each answer is stored as it comes. */
  async scrapeOnce(): Promise<RoundReport> {
    const started = this.#clock.now();
    const nodes = await this.#options.nodes();
    const targets = nodes.flatMap((node) => {
      const target = targetOf(node);
      return target === undefined ? [] : [{ target, ready: isReady(node) }];
    });
    const scraped = new Set<string>();
    let failed = 0;
    let next = 0;
    const spread = (this.#options.spreadMs ?? ((n) => Math.min(staggerPerNodeMs * n, maxStaggerMs)))(targets.length);
    const worker = async () => {
      while (next < targets.length && !this.#stopped) {
        const index = next++;
        const { target, ready } = targets[index]!;
        const due = started + (spread * index) / targets.length - this.#clock.now();
        if (due > 0) await new Promise<void>((resolve) => this.#clock.after(due, resolve));
        if (this.#stopped) return;
        try {
          this.#options.store.storeNode(target.node, await this.#scrape(target));
          scraped.add(target.node);
        } catch (err) {
          failed++;
          const log = { node: target.node, err: (err as Error)?.message ?? String(err) };
          if (ready) this.#options.logger.warn(log, 'failed to scrape node');
          else this.#options.logger.debug(log, 'failed to scrape node, node is not ready');
        }
      }
    };
    const workers = Math.max(1, Math.min(this.#options.concurrency ?? defaultConcurrency, targets.length));
    await Promise.all(Array.from({ length: workers }, worker));
    this.#options.store.endRound(scraped);
    this.#options.metrics?.round((this.#clock.now() - started) / 1000);
    const report = {
      nodes: targets.length,
      scraped: scraped.size,
      failed,
      durationMs: this.#clock.now() - started,
    };
    this.#options.logger.debug(report, 'scrape finished');
    return report;
  }

  async #scrape(target: ScrapeTarget): Promise<NodeScrape> {
    const requestTimeMs = this.#clock.now();
    let success = false;
    // a timer of our own: AbortSignal.timeout's does not keep the process alive while it waits
    const deadline = new AbortController();
    const timer = this.#clock.after(this.#timeoutMs, () =>
      deadline.abort(new Error(`no answer within ${this.#timeoutMs} ms`)),
    );
    try {
      const text = await this.#options.fetch(target, AbortSignal.any([deadline.signal, this.#stopping.signal]));
      const scrape = decodeResourceMetrics(text, requestTimeMs);
      success = true;
      return scrape;
    } finally {
      timer.cancel();
      this.#options.metrics?.request(success, (this.#clock.now() - requestTimeMs) / 1000);
    }
  }
}
