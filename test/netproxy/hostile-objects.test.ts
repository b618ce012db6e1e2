/**
 * Services and EndpointSlices with fields the API server refuses (a hostile object written past
 * it): what would break a rule is left out of the payload and reported once, the rest of the
 * object and every other Service still sync. And a sync that keeps failing backs off (1 s
 * doubling to 30 s) instead of running iptables-restore every 100 ms. The host is a stateful fake.
 */
import test from 'ava';
import type { Service } from '../../kube/corev1.ts';
import type { EndpointSlice } from '../../kube/discoveryv1.ts';
import type { Refusal } from '../../netproxy/change-tracker.ts';
import { backends } from '../../netproxy/iptables-backend.ts';
import { renderIpvs } from '../../netproxy/ipvs-renderer.ts';
import { sanitizeEndpointSlice, sanitizeService } from '../../netproxy/sanitize.ts';
import { ServiceProxy } from '../../netproxy/service-proxy.ts';
import { syncRetryDelayMs } from '../../netproxy/sync-backoff.ts';
import { landing, tracePacket } from '../../netproxy/tracer.ts';
import { ManualClock } from '../agent/manual-clock.ts';
import { FakeHost } from './fake-host.ts';
import { FakeNft } from './fake-nft.ts';
import { landsNft } from './nft-harness.ts';
import { localPod, remotePod, service, slice, testConfig, thisNode, traceContext } from './fixtures.ts';

const injected = '-A BOSUN-INJECTED -j ACCEPT';
const hostileServices = (): Service[] => [
  service('quote', { clusterIP: '10.96.0.21', ports: [{ name: `x"\n${injected}\n#`, port: 80, protocol: 'TCP' }] }),
  service('stringport', {
    clusterIP: '10.96.0.22',
    ports: [{ name: 'http', port: '80' as unknown as number, protocol: 'TCP' }],
  }),
  service('bigport', { clusterIP: '10.96.0.23', ports: [{ name: 'http', port: 70000, protocol: 'TCP' }] }),
  service('icmp', { clusterIP: '10.96.0.24', ports: [{ name: 'http', port: 80, protocol: 'ICMP' as never }] }),
  service('badip', { clusterIP: '1.2.3.4; rm -rf /', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
  service('ext', { clusterIP: '10.96.0.25', externalIPs: ['1.2.3.4; rm', '192.0.2.9'] }),
  service('bad"name', { clusterIP: '10.96.0.26' }),
];
const hostileSlices = (): EndpointSlice[] => [
  slice('stringport', [remotePod(20)], {
    ports: [{ name: 'http', port: '8080; rm' as unknown as number, protocol: 'TCP' }],
  }),
  slice('ext', [remotePod(21), '10.244.2.22; rm' as string]),
];

function proxyOn(host: FakeHost, extra: Partial<ConstructorParameters<typeof ServiceProxy>[0]> = {}) {
  return new ServiceProxy({
    nodeName: thisNode.name,
    runner: host,
    config: testConfig,
    backend: backends.nf_tables,
    ...extra,
  });
}

test('hostile fields are left out of the iptables payload, reported once; good services still route', async (t) => {
  const host = new FakeHost();
  const refusals: Refusal[] = [];
  const proxy = proxyOn(host, { onRefused: (r) => refusals.push(r) });
  for (const svc of hostileServices()) proxy.onServiceUpdate(undefined, svc);
  for (const s of hostileSlices()) proxy.onEndpointSliceUpdate(undefined, s);
  proxy.onServiceUpdate(undefined, service('web'));
  proxy.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6)]));
  const report = await proxy.sync();
  t.true(report.ok, report.error);
  const payload = host.restores().join('\n');
  for (const text of ['BOSUN-INJECTED', 'rm', '70000', 'ICMP', 'icmp', '1.2.3.4', '10.244.2.22', '8080;'])
    t.false(payload.includes(text), text);
  const trace = (dst: string, dport: number) => [
    ...landing(tracePacket(host.nft, { src: localPod(9), dst, protocol: 'tcp', dport }, 'forwarded', traceContext)),
  ];
  t.deepEqual(trace('10.96.0.10', 80), [[`${remotePod(6)}:8080`, 1]], 'the good service reaches its pod');
  t.deepEqual(
    trace('192.0.2.9', 80),
    [[`${remotePod(21)}:8080`, 1]],
    'the good external IP and endpoint of a partly bad service stay',
  );
  t.deepEqual(refusals.map((r) => `${r.kind} ${r.namespace}/${r.name} -> ${r.service ?? '-'}`).sort(), [
    'EndpointSlice default/ext-abc -> default/ext',
    'EndpointSlice default/stringport-abc -> default/stringport',
    'Service default/bad"name -> -',
    'Service default/badip -> default/badip',
    'Service default/bigport -> default/bigport',
    'Service default/ext -> default/ext',
    'Service default/icmp -> default/icmp',
    'Service default/quote -> default/quote',
    'Service default/stringport -> default/stringport',
  ]);
  t.true(
    refusals
      .find((r) => r.name === 'bigport')!
      .problems[0]!.startsWith('spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive'),
  );
  t.true(
    refusals
      .find((r) => r.name === 'icmp')!
      .problems[0]!.startsWith('spec.ports[0].protocol: Invalid value: "ICMP": supported values: "TCP", "UDP", "SCTP"'),
  );
  // the informer's resync hands the same objects again: nothing new is reported
  for (const svc of hostileServices()) proxy.onServiceUpdate(svc, svc);
  t.is(refusals.length, 9);
  t.true((await proxy.sync()).ok);
});

test('the IPVS plan gets the same sanitized state', async (t) => {
  const host = new FakeHost();
  const proxy = proxyOn(host);
  for (const svc of hostileServices()) proxy.onServiceUpdate(undefined, svc);
  for (const s of hostileSlices()) proxy.onEndpointSliceUpdate(undefined, s);
  await proxy.sync();
  const plan = renderIpvs(proxy.state, testConfig, { nodePortAddresses: [thisNode.ip] });
  const text = JSON.stringify(plan);
  for (const needle of ['BOSUN-INJECTED', 'rm', '70000', 'ICMP', '1.2.3.4']) t.false(text.includes(needle), needle);
});

test('the nftables mode gets the same sanitized state: nothing hostile in a full or a partial transaction', async (t) => {
  const nft = new FakeNft();
  const proxy = new ServiceProxy({
    nodeName: thisNode.name,
    runner: nft,
    config: testConfig,
    mode: 'nftables',
    backend: backends.nf_tables,
  });
  for (const svc of hostileServices()) proxy.onServiceUpdate(undefined, svc);
  for (const s of hostileSlices()) proxy.onEndpointSliceUpdate(undefined, s);
  // what a namespace admin could write past a lax server: '..', a 1 MB name, a newline in an address
  proxy.onServiceUpdate(
    undefined,
    service('dots', { clusterIP: '10.96.0.27', ports: [{ name: '../..', port: 80, protocol: 'TCP' }] }),
  );
  proxy.onServiceUpdate(
    undefined,
    service('huge', { clusterIP: '10.96.0.28', ports: [{ name: 'x'.repeat(1 << 20), port: 80, protocol: 'TCP' }] }),
  );
  const webSlice = slice('web', [remotePod(6)]);
  proxy.onServiceUpdate(undefined, service('web'));
  proxy.onEndpointSliceUpdate(undefined, webSlice);
  const full = await proxy.sync();
  t.true(full.ok && full.full, full.error);
  // the endpoint map of the good service's /20 changes in a partial sync: a hostile address beside a good one
  proxy.onEndpointSliceUpdate(webSlice, slice('web', [remotePod(7), `10.244.2.8\n${injected}` as string]));
  const partial = await proxy.sync();
  t.true(partial.ok && !partial.full, partial.error);
  const text = nft.transactions.join('\n');
  for (const needle of [
    'BOSUN-INJECTED',
    'rm',
    '70000',
    'ICMP',
    'icmp',
    '1.2.3.4',
    '10.244.2.22',
    '8080;',
    '10.244.2.8',
    '../..',
    'xxxxxxxx',
  ])
    t.false(text.includes(needle), needle);
  t.deepEqual(
    landsNft(nft.model, { src: localPod(9), dst: '10.96.0.10', protocol: 'tcp', dport: 80 }),
    [[`${remotePod(7)}:8080`, 1]],
    'the good service reaches its good endpoint',
  );
});

test('a hostile loadBalancerSourceRanges entry never reaches the payload, and the port does not open to everyone', async (t) => {
  const host = new FakeHost();
  const refusals: Refusal[] = [];
  const proxy = proxyOn(host, { onRefused: (r) => refusals.push(r) });
  const fw = service('fw', {
    type: 'LoadBalancer',
    lbIPs: ['192.0.2.40'],
    sourceRanges: [`0.0.0.0/0 -j ACCEPT\n${injected}`],
  });
  proxy.onServiceUpdate(undefined, fw);
  proxy.onEndpointSliceUpdate(undefined, slice('fw', [remotePod(6)]));
  t.true((await proxy.sync()).ok);
  const payload = host.restores().join('\n');
  t.false(payload.includes('BOSUN-INJECTED'));
  t.false(payload.includes('0.0.0.0/0'));
  const from = (src: string) => [
    ...landing(
      tracePacket(host.nft, { src, dst: '192.0.2.40', protocol: 'tcp', dport: 80 }, 'forwarded', traceContext),
    ),
  ];
  t.deepEqual(from('203.0.113.7'), [['DROP', 1]]);
  t.regex(
    refusals[0]?.problems[0] ?? '',
    /^spec\.loadBalancerSourceRanges\[0\]: Invalid value: .*must be a valid CIDR/,
  );
  // a string where a list belongs closes the port too
  const notAList = service('fw', { type: 'LoadBalancer', lbIPs: ['192.0.2.40'] });
  (notAList.spec as { loadBalancerSourceRanges?: unknown }).loadBalancerSourceRanges = '0.0.0.0/0';
  proxy.onServiceUpdate(fw, notAList);
  t.true((await proxy.sync()).ok);
  t.deepEqual(from('203.0.113.7'), [['DROP', 1]]);
});

test('sanitize keeps clean objects as they are and accepts what upstream accepts', (t) => {
  const clean = service('web', {
    externalIPs: ['192.0.2.1', '2001:db8::1'],
    ports: [
      { name: '8080', port: 8080, protocol: 'UDP' },
      { port: 53, protocol: 'SCTP' },
    ],
  });
  const result = sanitizeService(clean);
  t.is(result.object, clean);
  t.deepEqual(result.problems, []);
  const cleanSlice = slice('web', [remotePod(1)], {
    ports: [{ name: 'a-very-long-port-name-of-forty-characters', port: 80 }],
  });
  t.is(sanitizeEndpointSlice(cleanSlice).object, cleanSlice);
  t.deepEqual(sanitizeService(service('headless', { clusterIP: 'None' })).problems, []);
});

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

test('a failing sync backs off 1 s doubling to 30 s, counts failures, and recovers', async (t) => {
  t.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 20].map(syncRetryDelayMs),
    [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000],
  );
  const host = new FakeHost();
  for (let i = 0; i < 8; i++) host.failNext('iptables-nft-restore');
  const manual = new ManualClock(0);
  const proxy = proxyOn(host, { clock: manual, canaryPeriodMs: 3_600_000, syncPeriodMs: 3_600_000 });
  proxy.onServiceUpdate(undefined, service('web'));
  proxy.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6)]));
  const stop = new AbortController();
  const running = proxy.run(stop.signal);
  const restoresAt: number[] = [];
  let seen = 0;
  for (let ms = 0; ms <= 125_000; ms += 100) {
    await settle();
    const count = host.restores().length;
    for (; seen < count; seen++) restoresAt.push(manual.now());
    // events keep arriving while it fails: they must not cut the back-off short
    if (ms % 500 === 0 && ms < 100_000)
      proxy.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6 + ((ms / 500) % 3))]));
    manual.advance(100);
  }
  stop.abort();
  manual.advance(3_600_000);
  await running;
  t.deepEqual(restoresAt.slice(0, 9), [0, 1_000, 3_000, 7_000, 15_000, 31_000, 61_000, 91_000, 121_000]);
  t.is(proxy.metrics.restoreFailures.value, 8);
  t.true(proxy.metrics.lastQueuedTimestamp.value > 0);
  t.regex(proxy.metrics.text(), /kubeproxy_sync_proxy_rules_iptables_restore_failures_total 8/);
  t.true(proxy.appliedGeneration > 0, 'the ninth try succeeded');
});

test('the agent turns a refusal into one Warning event on the Service', async (t) => {
  const { reportProxyRefusal, refusedFieldsReason } = await import('../../agent/events/service-events.ts');
  const events: unknown[][] = [];
  const recorder = {
    event: (...args: unknown[]) => {
      events.push(args);
    },
  };
  const host = new FakeHost();
  const proxy = proxyOn(host, { onRefused: (refusal) => reportProxyRefusal(recorder, refusal) });
  for (const svc of hostileServices()) proxy.onServiceUpdate(undefined, svc);
  proxy.onEndpointSliceUpdate(undefined, hostileSlices()[0]!);
  const onBigPort = events.find(([ref]) => (ref as { name: string }).name === 'bigport');
  t.deepEqual(onBigPort, [
    { kind: 'Service', apiVersion: 'v1', namespace: 'default', name: 'bigport' },
    'Warning',
    refusedFieldsReason,
    'Service: left out of the service rules of this node: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
  ]);
  t.truthy(
    events.find(
      ([ref, , , message]) =>
        (ref as { name: string }).name === 'stringport' && String(message).startsWith('EndpointSlice stringport-abc: '),
    ),
  );
  t.false(
    events.some(([ref]) => (ref as { name: string }).name === 'bad"name'),
    'no event on an object whose identity is unusable',
  );
  t.truthy(
    events.find(([ref]) => (ref as { name: string }).name === 'badip'),
    'a Service left out whole because of its clusterIP still gets its event',
  );
});
