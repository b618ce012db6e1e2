/**
 * The scraper over a stateful fake of the kubelet seam (one fake kubelet per node that can be told
 * to fail or to hang): rounds are bounded in concurrency and time, a failing or hanging node costs
 * only its own metrics, and a thousand nodes are scraped without holding the event loop.
 */
import test from 'ava';
import { pino } from 'pino';
import type { KubeObject } from '../../../kube/types.ts';
import { KubeletScraper } from '../../../controlplane/metrics/kubelet-scraper.ts';
import type { ScrapeTarget } from '../../../controlplane/metrics/kubelet-metrics-fetch.ts';
import { UsageStore } from '../../../controlplane/metrics/usage-store.ts';

type Behaviour = 'ok' | 'fail' | 'hang' | 'garbage';

/** Fake kubelets behind the fetch seam: what each node does, what was asked, how many at once. */
class FakeKubelets {
  readonly behaviour = new Map<string, Behaviour>();
  readonly calls = new Map<string, number>();
  inFlight = 0;
  maxInFlight = 0;
  /** Pods each node reports, and how long an answer takes. */
  podsPerNode = 3;
  latencyMs = 2;
  #cpuSeconds = 1000;

  fetch: (target: ScrapeTarget, signal: AbortSignal) => Promise<string> = async (target, signal) => {
    this.calls.set(target.node, (this.calls.get(target.node) ?? 0) + 1);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const behaviour = this.behaviour.get(target.node) ?? 'ok';
      if (behaviour === 'hang')
        return await new Promise<string>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        );
      await new Promise((r) => setTimeout(r, this.latencyMs));
      if (behaviour === 'fail') throw new Error('connection refused');
      if (behaviour === 'garbage') return '<html>not metrics</html>\n';
      this.#cpuSeconds += 1;
      const now = Date.now();
      const lines = [
        `node_cpu_usage_seconds_total ${this.#cpuSeconds} ${now}`,
        `node_memory_working_set_bytes 1048576 ${now}`,
      ];
      for (let i = 0; i < this.podsPerNode; i++) {
        const labels = `container="c",namespace="ns",pod="${target.node}-p${i}"`;
        lines.push(
          `container_cpu_usage_seconds_total{${labels}} ${this.#cpuSeconds / 10} ${now}`,
          `container_memory_working_set_bytes{${labels}} 4096 ${now}`,
        );
      }
      return `${lines.join('\n')}\n`;
    } finally {
      this.inFlight--;
    }
  };
}

function nodes(count: number): KubeObject[] {
  return Array.from({ length: count }, (_, i) => ({
    metadata: { name: `n${i}` },
    status: {
      addresses: [{ type: 'InternalIP', address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}` }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  }));
}

function scraper(
  kubelets: FakeKubelets,
  count: number,
  options: { concurrency?: number; timeoutMs?: number; spreadMs?: (nodes: number) => number } = {},
) {
  const store = new UsageStore(1_000);
  const all = nodes(count);
  const s = new KubeletScraper({
    nodes: async () => all,
    fetch: kubelets.fetch,
    store,
    resolutionMs: 1_000,
    logger: pino({ level: 'silent' }),
    // at once unless a test asks for metrics-server's stagger
    spreadMs: () => 0,
    ...options,
  });
  return { scraper: s, store };
}

test('a round spreads its starts as metrics-server does: 8 ms per node, at most 4 s', async (t) => {
  const kubelets = new FakeKubelets();
  const starts: number[] = [];
  const fetch = kubelets.fetch;
  kubelets.fetch = (target, signal) => {
    starts.push(Date.now());
    return fetch(target, signal);
  };
  const all = nodes(50);
  const s = new KubeletScraper({
    nodes: async () => all,
    fetch: kubelets.fetch,
    store: new UsageStore(1_000),
    logger: pino({ level: 'silent' }),
  });
  await s.scrapeOnce();
  const spread = Math.max(...starts) - Math.min(...starts);
  t.true(spread >= 350 && spread < 1_500, `50 nodes started over ${spread} ms`);
});

test('a round asks every node once, never more than the concurrency bound at a time', async (t) => {
  const kubelets = new FakeKubelets();
  const { scraper: s } = scraper(kubelets, 200, { concurrency: 16 });
  const report = await s.scrapeOnce();
  t.like(report, { nodes: 200, scraped: 200, failed: 0 });
  t.is(kubelets.calls.size, 200);
  t.true([...kubelets.calls.values()].every((n) => n === 1));
  t.is(kubelets.maxInFlight, 16);
});

test('a node that advertises no kubelet port, or no address, is never dialled', async (t) => {
  const kubelets = new FakeKubelets();
  const store = new UsageStore(1_000);
  const [served, unserved, unaddressed] = nodes(3);
  delete (unserved!.status as { daemonEndpoints?: unknown }).daemonEndpoints;
  delete (unaddressed!.status as { addresses?: unknown }).addresses;
  const s = new KubeletScraper({
    nodes: async () => [served!, unserved!, unaddressed!],
    fetch: kubelets.fetch,
    store,
    logger: pino({ level: 'silent' }),
  });
  t.like(await s.scrapeOnce(), { nodes: 1, scraped: 1 });
  t.deepEqual([...kubelets.calls.keys()], ['n0']);
});

test('failing, garbled and hanging kubelets cost only their own nodes, and a hang only its timeout', async (t) => {
  const kubelets = new FakeKubelets();
  kubelets.behaviour.set('n1', 'fail');
  kubelets.behaviour.set('n2', 'hang');
  kubelets.behaviour.set('n3', 'garbage');
  const { scraper: s, store } = scraper(kubelets, 10, { timeoutMs: 150 });
  const started = Date.now();
  await s.scrapeOnce();
  const report = await s.scrapeOnce();
  const took = Date.now() - started;
  t.like(report, { nodes: 10, scraped: 7, failed: 3 });
  t.true(took < 1_000, `two rounds took ${took} ms`);
  t.truthy(store.node('n0'));
  t.truthy(store.pod('n0', 'ns', 'n0-p0'));
  for (const broken of ['n1', 'n2', 'n3']) {
    t.is(store.node(broken), undefined, broken);
    t.is(store.pod(broken, 'ns', `${broken}-p0`), undefined, broken);
  }
  // a node that recovers shows again after two good rounds, not one
  kubelets.behaviour.delete('n1');
  await s.scrapeOnce();
  t.is(store.node('n1'), undefined);
  await s.scrapeOnce();
  t.truthy(store.node('n1'));
});

test('a node that fails drops out at once: usage is never older than the last round', async (t) => {
  const kubelets = new FakeKubelets();
  const { scraper: s, store } = scraper(kubelets, 3);
  await s.scrapeOnce();
  await s.scrapeOnce();
  t.truthy(store.node('n2'));
  kubelets.behaviour.set('n2', 'fail');
  await s.scrapeOnce();
  t.is(store.node('n2'), undefined);
  t.is(store.pod('n2', 'ns', 'n2-p0'), undefined);
  t.truthy(store.node('n0'));
});

test('rounds follow the resolution without overlapping, and stop() ends them', async (t) => {
  const kubelets = new FakeKubelets();
  kubelets.behaviour.set('n0', 'hang');
  const { scraper: s } = scraper(kubelets, 2, { timeoutMs: 300 });
  s.start();
  await new Promise((r) => setTimeout(r, 2_500));
  await s.stop();
  const calls = kubelets.calls.get('n1') ?? 0;
  // one round at once: rounds start every second (each waits for the 300 ms hang at most)
  t.true(calls >= 2 && calls <= 3, `n1 asked ${calls} times in 2.5 s`);
  t.is(kubelets.calls.get('n0'), calls);
  await new Promise((r) => setTimeout(r, 1_200));
  t.is(kubelets.calls.get('n1'), calls, 'no round after stop()');
});

test('stop() does not wait for a kubelet that hangs', async (t) => {
  const kubelets = new FakeKubelets();
  kubelets.behaviour.set('n0', 'hang');
  const { scraper: s } = scraper(kubelets, 1, { timeoutMs: 900 });
  s.start();
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await s.stop();
  t.true(Date.now() - started < 300, `stop() took ${Date.now() - started} ms`);
});

test('a thousand nodes of 30 pods in a round, each answer handled in a short slice of CPU', async (t) => {
  const kubelets = new FakeKubelets();
  kubelets.podsPerNode = 30;
  kubelets.behaviour.set('n7', 'hang');
  kubelets.behaviour.set('n99', 'fail');
  // CPU time (not wall time: the machine may be busy) from an answer's arrival to its storing,
  // and of the round's end: the longest stretch the server's event loop is held by the scraper
  let answered = 0;
  const slices: number[] = [];
  const cpuMs = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  const fetch = kubelets.fetch;
  kubelets.fetch = async (target, signal) => {
    const text = await fetch(target, signal);
    answered = cpuMs();
    return text;
  };
  const { scraper: s, store } = scraper(kubelets, 1_000, { timeoutMs: 500 });
  const storeNode = store.storeNode.bind(store);
  store.storeNode = (name, scrape) => {
    storeNode(name, scrape);
    slices.push(cpuMs() - answered);
  };
  const endRound = store.endRound.bind(store);
  store.endRound = (scraped) => {
    const before = cpuMs();
    endRound(scraped);
    slices.push(cpuMs() - before);
  };
  await s.scrapeOnce(); // warm: the first round compiles the code it runs
  slices.length = 0;
  await s.scrapeOnce();
  const report = await s.scrapeOnce();
  t.like(report, { nodes: 1_000, scraped: 998, failed: 2 });
  t.is(store.counts.nodes, 998);
  t.is(store.counts.containers, 998 * 30);
  const sorted = [...slices].sort((a, b) => a - b);
  const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
  t.log(`${slices.length} slices: median ${sorted[sorted.length >> 1]!.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms CPU`);
  t.true(p99 < 10, `p99 slice ${p99} ms`);
});
