/**
 * metrics-server's rules for turning scrapes into usage, as bosun's store keeps them: CPU as the
 * rate between two points, a restart or a counter going back starts again, an older answer never
 * replaces a newer one, a young container is measured from its start, incomplete points are dropped
 * as the decoder drops them; and the quantities and durations written as Go writes them.
 */
import test from 'ava';
import { decodeResourceMetrics } from '../../../controlplane/metrics/resource-metrics-decode.ts';
import type { MetricsPoint, NodeScrape } from '../../../controlplane/metrics/metrics-points.ts';
import { UsageStore } from '../../../controlplane/metrics/usage-store.ts';
import { formatBytes, formatNanoCores, goDuration } from '../../../controlplane/metrics/usage-format.ts';

const t0 = Date.parse('2026-06-01T12:00:00Z');
const point = (at: number, cpuSeconds: number, memory = 1 << 20, startMs = t0 - 3_600_000): MetricsPoint => ({
  startMs,
  timestampMs: at,
  cpuNanoSeconds: cpuSeconds * 1e9,
  memoryBytes: memory,
});
const scrape = (node: MetricsPoint | undefined, containers: Record<string, MetricsPoint> = {}): NodeScrape => ({
  node,
  pods: new Map([['ns/p', new Map(Object.entries(containers))]]),
});

test('CPU is the rate between the last two points; memory is the newest working set', (t) => {
  const store = new UsageStore(15_000);
  store.storeNode('n', scrape(point(t0, 100, 1), { c: point(t0, 10) }));
  t.is(store.node('n'), undefined, 'one point is not a rate');
  store.storeNode('n', scrape(point(t0 + 15_000, 107.5, 2048), { c: point(t0 + 15_000, 13, 4096) }));
  t.deepEqual(store.node('n'), {
    timestampMs: t0 + 15_000,
    windowMs: 15_000,
    usage: { cpuNanoCores: 500_000_000, memoryBytes: 2048 },
  });
  t.deepEqual(store.pod('n', 'ns', 'p'), {
    timestampMs: t0 + 15_000,
    windowMs: 15_000,
    containers: [{ name: 'c', usage: { cpuNanoCores: 200_000_000, memoryBytes: 4096 } }],
  });
  t.is(store.pod('other-node', 'ns', 'p'), undefined, 'only the node it is bound to is believed');
});

test('an answer no newer than the last keeps the pair before it; a restart or a counter that went back starts again', (t) => {
  const store = new UsageStore(15_000);
  store.storeNode('n', scrape(point(t0, 100), { c: point(t0, 10) }));
  store.storeNode('n', scrape(point(t0 + 15_000, 115), { c: point(t0 + 15_000, 11) }));
  // the kubelet served the same sample again: the last pair still stands
  store.storeNode('n', scrape(point(t0 + 15_000, 115), { c: point(t0 + 15_000, 11) }));
  t.is(store.node('n')?.usage.cpuNanoCores, 1e9);
  t.is(store.pod('n', 'ns', 'p')?.containers[0]?.usage.cpuNanoCores, 66_666_666);
  // the container restarted after the kept point: no rate until two points of the new one
  store.storeNode('n', scrape(point(t0 + 30_000, 130), { c: point(t0 + 30_000, 0.5, 1, t0 + 25_000) }));
  t.is(store.pod('n', 'ns', 'p'), undefined);
  t.truthy(store.node('n'));
  store.storeNode('n', scrape(point(t0 + 45_000, 145), { c: point(t0 + 45_000, 2, 1, t0 + 25_000) }));
  t.is(store.pod('n', 'ns', 'p')?.containers[0]?.usage.cpuNanoCores, 100_000_000);
  // a node counter that went back (a reboot without a start time): no rate from that pair
  store.storeNode('n', scrape(point(t0 + 60_000, 3), { c: point(t0 + 60_000, 3, 1, t0 + 25_000) }));
  t.is(store.node('n'), undefined);
});

test('a container started within one resolution (at least 10 s ago) is measured from its start', (t) => {
  const store = new UsageStore(15_000);
  store.storeNode(
    'n',
    scrape(point(t0, 100), { young: point(t0, 3, 1, t0 - 12_000), baby: point(t0, 1, 1, t0 - 5_000) }),
  );
  t.is(store.pod('n', 'ns', 'p'), undefined, 'the pod waits for its youngest container');
  store.storeNode('n', {
    node: point(t0, 100),
    pods: new Map([['ns/q', new Map([['young', point(t0, 3, 1, t0 - 12_000)]])]]),
  });
  t.deepEqual(store.pod('n', 'ns', 'q')?.containers, [
    { name: 'young', usage: { cpuNanoCores: 250_000_000, memoryBytes: 1 } },
  ]);
  t.is(store.pod('n', 'ns', 'q')?.windowMs, 12_000);
});

test('a round forgets the nodes it did not reach, with their pods', (t) => {
  const store = new UsageStore(15_000);
  for (const at of [t0, t0 + 15_000]) {
    store.storeNode('a', scrape(point(at, at / 1000), { c: point(at, at / 2000) }));
    store.storeNode('b', scrape(point(at, at / 1000), { c: point(at, at / 2000) }));
  }
  store.endRound(new Set(['a']));
  t.truthy(store.node('a'));
  t.is(store.node('b'), undefined);
  t.is(store.pod('b', 'ns', 'p'), undefined);
  t.deepEqual(store.counts, { nodes: 1, containers: 1 });
});

test('the decoder drops what metrics-server drops and reads what it reads', (t) => {
  const text = [
    '# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds',
    '# TYPE node_cpu_usage_seconds_total counter',
    'node_cpu_usage_seconds_total 357.5 1780315200000',
    'node_memory_working_set_bytes 1.5e+09 1780315200000',
    'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="ok"} 1.25 1780315200000',
    'container_memory_working_set_bytes{container="a",namespace="ns",pod="ok"} 1024 1780315200000',
    'container_start_time_seconds{container="a",namespace="ns",pod="ok"} 1780315000 1780315200000',
    // one container never measured: the whole pod is left out
    'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="half"} 2 1780315200000',
    'container_memory_working_set_bytes{container="a",namespace="ns",pod="half"} 512 1780315200000',
    'container_cpu_usage_seconds_total{container="b",namespace="ns",pod="half"} 0 1780315200000',
    'container_memory_working_set_bytes{container="b",namespace="ns",pod="half"} 512 1780315200000',
    // label values with escapes, and no timestamp (the request time stands in)
    'container_cpu_usage_seconds_total{container="x",namespace="ns",pod="odd\\"name"} 3',
    'container_memory_working_set_bytes{container="x",namespace="ns",pod="odd\\"name"} 8',
    '',
  ].join('\n');
  const decoded = decodeResourceMetrics(text, 42);
  t.deepEqual(decoded.node, { startMs: 0, timestampMs: 1780315200000, cpuNanoSeconds: 357.5e9, memoryBytes: 1.5e9 });
  t.deepEqual(decoded.pods.get('ns/ok')?.get('a'), {
    startMs: 1780315000000,
    timestampMs: 1780315200000,
    cpuNanoSeconds: 1.25e9,
    memoryBytes: 1024,
  });
  t.false(decoded.pods.has('ns/half'));
  t.is(decoded.pods.get('ns/odd"name')?.get('x')?.timestampMs, 42);
  t.is(decodeResourceMetrics('node_memory_working_set_bytes 1 5\n', 0).node, undefined, 'no CPU: no node point');
  t.throws(() => decodeResourceMetrics('{"kind":"Status"}\n', 0));
  t.throws(() => decodeResourceMetrics('node_cpu_usage_seconds_total{a="b} 1\n', 0));
});

const written: [(value: number) => string, number, string][] = [
  [formatNanoCores, 0, '0'],
  [formatNanoCores, 250_000_000, '250m'],
  [formatNanoCores, 1_000_000_000, '1'],
  [formatNanoCores, 1_234_567, '1234567n'],
  [formatNanoCores, 1_500_000, '1500u'],
  [formatBytes, 0, '0'],
  [formatBytes, 1023, '1023'],
  [formatBytes, 1_052_672, '1028Ki'],
  [formatBytes, 2 * 1024 ** 3, '2Gi'],
  [formatBytes, 1_234_567, '1234567'],
  [goDuration, 15_000, '15s'],
  [goDuration, 15_004, '15.004s'],
  [goDuration, 60_500, '1m0.5s'],
  [goDuration, 500, '500ms'],
  [goDuration, 3_723_000, '1h2m3s'],
];

test('quantities and durations are written as Go writes them', (t) => {
  for (const [format, value, text] of written) t.is(format(value), text, `${format.name}(${value})`);
});
