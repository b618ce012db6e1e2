/** The proxy's executors against a stateful fake host (no real iptables here). */
import test from 'ava';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chains, hookRules } from '../../netproxy/chain-names.ts';
import { ProxyErrorCode, ProxyError } from '../../netproxy/errors.ts';
import { createProxyHealthServer } from '../../netproxy/health-server.ts';
import { backends, chooseBackend } from '../../netproxy/iptables-backend.ts';
import { emptyMemory, renderIptables } from '../../netproxy/iptables-renderer.ts';
import { IptablesModel } from '../../netproxy/iptables-model.ts';
import { ServiceHealthServers } from '../../netproxy/service-health.ts';
import { ServiceProxy } from '../../netproxy/service-proxy.ts';
import { silentProxyLogger } from '../../netproxy/proxy-logger.ts';
import { SyncRunner } from '../../netproxy/sync-runner.ts';
import { landing, tracePacket } from '../../netproxy/tracer.ts';
import { ManualClock } from '../agent/manual-clock.ts';
import { FakeHost } from './fake-host.ts';
import { localPod, remotePod, service, slice, testConfig, thisNode, traceContext } from './fixtures.ts';

function proxyOn(host: FakeHost, extra: Partial<ConstructorParameters<typeof ServiceProxy>[0]> = {}) {
  return new ServiceProxy({
    nodeName: thisNode.name,
    runner: host,
    config: testConfig,
    backend: backends.nf_tables,
    ...extra,
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const web = () => service('web');
const webSlice = (...ips: string[]) => slice('web', ips);
const toWeb = (model: IptablesModel) =>
  landing(
    tracePacket(model, { src: localPod(9), dst: '10.96.0.10', protocol: 'tcp', dport: 80 }, 'forwarded', traceContext),
  );

test('first sync is full, inserts each hook once, and the service works', async (t) => {
  const host = new FakeHost();
  host.nft.command('filter', '-A INPUT -j ACCEPT'); // someone else's rule stays
  const proxy = proxyOn(host);
  proxy.onServiceUpdate(undefined, web());
  proxy.onEndpointSliceUpdate(undefined, webSlice(remotePod(6)));
  const first = await proxy.sync();
  t.true(first.ok && first.full);
  t.deepEqual([...toWeb(host.nft)], [[`${remotePod(6)}:8080`, 1]]);
  const second = await proxy.sync(); // still within the sync period: partial, no hooks
  t.false(second.full);
  proxy.requestFullSync();
  t.true((await proxy.sync()).full);
  for (const h of hookRules) {
    const n = host.nft.tables
      .get(h.table)!
      .get(h.chain)!
      .filter((r) => r.endsWith(`-j ${h.target}`)).length;
    t.is(n, 1, `${h.table}/${h.chain} -> ${h.target}`);
  }
  t.true(host.nft.tables.get('filter')!.get('INPUT')!.includes('-j ACCEPT'));
  t.true(
    host.calls.every((c) => !c.argv[0]!.endsWith('-restore') || c.argv.join(' ').endsWith('-w --noflush --counters')),
  );
});

test('an endpoint change is a partial sync that leaves what a full one would', async (t) => {
  const host = new FakeHost();
  const proxy = proxyOn(host);
  proxy.onServiceUpdate(undefined, web());
  proxy.onServiceUpdate(undefined, service('other', { clusterIP: '10.100.0.5' }));
  proxy.onEndpointSliceUpdate(undefined, webSlice(remotePod(6)));
  proxy.onEndpointSliceUpdate(undefined, slice('other', [remotePod(8)]));
  await proxy.sync();
  proxy.onEndpointSliceUpdate(undefined, webSlice(remotePod(7)));
  const r = await proxy.sync();
  t.true(r.ok);
  t.false(r.full);
  const payload = host.restores().at(-1)!;
  t.false(payload.includes('BOSUN-SVCS-10-100-0 -'), "the other service's dispatch chain is not rewritten");
  t.deepEqual([...toWeb(host.nft)], [[`${remotePod(7)}:8080`, 1]]);
  const fresh = new IptablesModel();
  fresh.restore(
    renderIptables({ state: proxy.state, config: testConfig, changed: 'all', memory: emptyMemory }).payload,
  );
  for (const table of ['nat', 'filter']) {
    for (const [chain, rules] of fresh.tables.get(table)!)
      if (chain.startsWith('BOSUN-')) t.deepEqual(host.nft.tables.get(table)!.get(chain), rules, `${table}/${chain}`);
  }
});

test('a failed partial restore is counted and followed by a full sync that repairs everything', async (t) => {
  const host = new FakeHost();
  const proxy = proxyOn(host);
  proxy.onServiceUpdate(undefined, web());
  proxy.onEndpointSliceUpdate(undefined, webSlice(remotePod(6)));
  await proxy.sync();
  proxy.onEndpointSliceUpdate(undefined, webSlice(remotePod(7)));
  host.failNext('iptables-nft-restore');
  const failed = await proxy.sync();
  t.false(failed.ok);
  t.regex(failed.error ?? '', /iptables-nft-restore failed/);
  t.is(proxy.metrics.partialRestoreFailures.value, 1);
  t.is(proxy.metrics.restoreFailures.value, 1);
  const retry = await proxy.sync();
  t.true(retry.ok && retry.full, 'the retry is full and keeps the change that was not applied');
  t.deepEqual([...toWeb(host.nft)], [[`${remotePod(7)}:8080`, 1]]);
});

test('chains of ours left by an earlier run are deleted by the first sync', async (t) => {
  const host = new FakeHost();
  host.nft.restore(
    '*nat\n:BOSUN-SVC-LEFTOVER0000000000 - [0:0]\n-A BOSUN-SVC-LEFTOVER0000000000 -j RETURN\n:KUBE-SERVICES - [0:0]\nCOMMIT\n',
  );
  const proxy = proxyOn(host);
  proxy.onServiceUpdate(undefined, web());
  t.true((await proxy.sync()).ok);
  t.false(host.nft.tables.get('nat')!.has('BOSUN-SVC-LEFTOVER0000000000'));
  t.true(host.nft.tables.get('nat')!.has('KUBE-SERVICES'), "other software's chains are not ours to delete");
});

test('a flushed table is noticed by the canary and repaired by a full sync', async (t) => {
  const host = new FakeHost();
  const proxy = proxyOn(host, { canaryPeriodMs: 20, minSyncPeriodMs: 5 });
  proxy.onServiceUpdate(undefined, web());
  proxy.onEndpointSliceUpdate(undefined, webSlice(remotePod(6)));
  const stop = new AbortController();
  const running = proxy.run(stop.signal);
  try {
    await proxy.ready;
    // `iptables -t nat -F`: every chain of the table emptied, hooks included.
    for (const rules of host.nft.tables.get('nat')!.values()) rules.length = 0;
    t.deepEqual([...toWeb(host.nft)], [['ACCEPT', 1]], 'the flush broke the service');
    await until('service repaired after the flush', () => toWeb(host.nft).has(`${remotePod(6)}:8080`));
    t.true(host.nft.tables.get('nat')!.get(chains.canary)!.length > 0);
  } finally {
    stop.abort();
    await running;
  }
});

test('by default the canary is checked once per sync period (30 s), as kube-proxy does, not every few seconds', async (t) => {
  const host = new FakeHost();
  const manual = new ManualClock(0);
  const proxy = proxyOn(host, { clock: manual });
  proxy.onServiceUpdate(undefined, web());
  proxy.onEndpointSliceUpdate(undefined, webSlice(remotePod(6)));
  const stop = new AbortController();
  const running = proxy.run(stop.signal);
  const checkedAt: number[] = [];
  let seen = 0;
  const canaryChecks = () =>
    host.calls.filter((c) => c.argv[0] === 'sh' && c.argv.join(' ').includes(`-S ${chains.canary}`)).length;
  try {
    await proxy.ready;
    for (let ms = 0; ms <= 65_000; ms += 500) {
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      for (const count = canaryChecks(); seen < count; seen++) checkedAt.push(manual.now());
      manual.advance(500);
    }
  } finally {
    stop.abort();
    await running;
  }
  t.deepEqual(checkedAt, [30_000, 60_000]);
});

test('without the conntrack tool a sync still succeeds: the rules are in, the failed cleanup is logged', async (t) => {
  const host = new FakeHost();
  const warnings: object[] = [];
  const proxy = proxyOn(host, { logger: { ...silentProxyLogger, warn: (obj) => warnings.push(obj) } });
  const dns = service('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
  const dnsSlice = (ip: string) => slice('dns', [ip], { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
  proxy.onServiceUpdate(undefined, dns);
  proxy.onEndpointSliceUpdate(undefined, dnsSlice(remotePod(6)));
  t.true((await proxy.sync()).ok);
  host.absent.add('conntrack');
  proxy.onEndpointSliceUpdate(undefined, dnsSlice(remotePod(7)));
  const report = await proxy.sync();
  t.true(report.ok, `a missing conntrack fails only the cleanup, not the sync: ${report.error}`);
  t.true(host.nft.save('nat').includes(remotePod(7)), 'the new endpoint is programmed');
  t.regex(JSON.stringify(warnings), /conntrack -D -p udp .*spawn conntrack ENOENT/);
});

test('replacing a UDP endpoint deletes its conntrack entries after the restore', async (t) => {
  const host = new FakeHost();
  const proxy = proxyOn(host);
  const dns = service('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
  const dnsSlice = (ip: string) => slice('dns', [ip], { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
  proxy.onServiceUpdate(undefined, dns);
  proxy.onEndpointSliceUpdate(undefined, dnsSlice(remotePod(6)));
  await proxy.sync();
  host.calls.length = 0;
  const flow = (replySrc: string) => ({ protocol: 'udp' as const, origDst: '10.96.0.10', origDport: 53, replySrc });
  host.flows.push(flow(remotePod(6)), flow(remotePod(6)), flow(remotePod(7)));
  proxy.onEndpointSliceUpdate(undefined, dnsSlice(remotePod(7)));
  await proxy.sync();
  const order = host.calls.map((c) => c.argv[0]);
  t.deepEqual(order, ['iptables-nft-restore', 'conntrack']);
  t.deepEqual(host.conntrackDeletes.at(-1), [
    '-D',
    '-p',
    'udp',
    '--orig-dst',
    '10.96.0.10',
    '--orig-port-dst',
    '53',
    '--reply-src',
    remotePod(6),
  ]);
  t.deepEqual(
    host.flows,
    [flow(remotePod(7))],
    'the flows to the removed endpoint are gone, those to the new one kept',
  );
});

test('backend choice: follow the backend holding rules, refuse a host with rules in both', (t) => {
  const withRules = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n';
  const empty = '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n';
  t.is(chooseBackend(empty, empty).kind, 'nf_tables');
  t.is(chooseBackend(empty, withRules).kind, 'legacy');
  t.is(chooseBackend(withRules, empty).kind, 'nf_tables');
  t.is(chooseBackend(undefined, empty).kind, 'legacy');
  const err = t.throws(() => chooseBackend(withRules, withRules), { instanceOf: ProxyError });
  t.is(err?.code, ProxyErrorCode.mixedBackends);
  t.regex(err?.message ?? '', /both backends/);
  t.is(
    t.throws(() => chooseBackend(undefined, undefined), { instanceOf: ProxyError })?.code,
    ProxyErrorCode.noIptables,
  );
});

test('healthz turns 503 when a sync stalls, and /metrics uses kube-proxy names', async (t) => {
  const host = new FakeHost();
  let release: () => void = () => {};
  const stalling = {
    run: async (argv: readonly string[], options?: { input?: string }) => {
      if (argv[0]!.endsWith('-restore') && host.restores().length >= 1)
        await new Promise<void>((r) => {
          release = r;
        });
      return host.run(argv, options);
    },
  };
  const proxy = new ServiceProxy({
    nodeName: thisNode.name,
    runner: stalling,
    config: testConfig,
    backend: backends.nf_tables,
    healthTimeoutMs: 100,
    minSyncPeriodMs: 5,
  });
  const server = createProxyHealthServer(proxy);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });
  const stop = new AbortController();
  proxy.onServiceUpdate(undefined, web());
  const running = proxy.run(stop.signal);
  try {
    await proxy.ready;
    t.is((await get('/healthz')).status, 200);
    proxy.onEndpointSliceUpdate(undefined, webSlice(remotePod(6))); // this sync's restore hangs
    await until('healthz reports the stall', async () => (await get('/healthz')).status === 503);
    t.regex((await get('/healthz')).body, /pending/);
    release();
    await until('healthz recovers', async () => (await get('/healthz')).status === 200);
    const metrics = (await get('/metrics')).body;
    for (const name of [
      'kubeproxy_sync_proxy_rules_duration_seconds_count',
      'kubeproxy_sync_full_proxy_rules_duration_seconds_bucket',
      'kubeproxy_sync_partial_proxy_rules_duration_seconds_count',
      'kubeproxy_network_programming_duration_seconds_count',
      'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
    ]) {
      t.true(metrics.includes(`${name} `) || metrics.includes(`${name}{`), name);
    }
    t.regex(metrics, /kubeproxy_sync_proxy_rules_duration_seconds_count [2-9]/);
    t.regex(metrics, /^process_resident_memory_bytes [1-9]\d*$/m, 'the process_* family, as kube-proxy has');
  } finally {
    release();
    stop.abort();
    await running;
    await new Promise((r) => server.close(() => r(undefined)));
  }
});

test('sync runner: a burst of requests costs few runs, and it runs periodically without any', async (t) => {
  let runs = 0;
  const runner = new SyncRunner(
    async () => {
      runs++;
    },
    { minIntervalMs: 50, maxIntervalMs: 150 },
  );
  const stop = new AbortController();
  const running = runner.run(stop.signal);
  await until('first run', () => runs === 1);
  for (let i = 0; i < 200; i++) runner.request();
  await until('the burst was served', () => runs >= 2);
  const afterBurst = runs;
  t.true(afterBurst <= 3, `burst caused ${afterBurst - 1} runs`);
  await until('a periodic run without requests', () => runs > afterBurst, 1000);
  stop.abort();
  await running;
});

test('health check node ports answer 200 with local endpoints and 503 without', async (t) => {
  const servers = new ServiceHealthServers('127.0.0.1');
  const port = 20000 + (process.pid % 20000);
  const get = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });
  try {
    const host = new FakeHost();
    const proxy = proxyOn(host, { serviceHealth: servers });
    const svc = service('loc', {
      type: 'NodePort',
      externalLocal: true,
      healthCheckNodePort: port,
      ports: [{ name: 'http', port: 80, nodePort: 30081 }],
    });
    proxy.onServiceUpdate(undefined, svc);
    proxy.onEndpointSliceUpdate(undefined, slice('loc', [localPod(5), remotePod(6)]));
    await proxy.sync();
    const ok = await get();
    t.is(ok.status, 200);
    t.deepEqual(JSON.parse(ok.body), { service: { namespace: 'default', name: 'loc' }, localEndpoints: 1 });
    proxy.onEndpointSliceUpdate(undefined, slice('loc', [remotePod(6)]));
    await proxy.sync();
    t.is((await get()).status, 503);
    proxy.onServiceUpdate(svc, undefined);
    await proxy.sync();
    await t.throwsAsync(get(), undefined, 'the listener closes with the service');
  } finally {
    await servers.close();
  }
});
