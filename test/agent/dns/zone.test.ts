import test from 'ava';
import { buildZoneIndex, reverseName, type DnsService, type DnsEndpointSlice } from '../../../agent/dns/records.ts';
import { resolveQuestion } from '../../../agent/dns/resolve.ts';
import { ResponseCache } from '../../../agent/dns/cache.ts';
import { chooseUpstreams } from '../../../agent/dns/forward.ts';

// Address conventions: services in 10.96.0.0/12, pods in 10.244.0.0/16.
const services: DnsService[] = [
  {
    name: 'web',
    namespace: 'default',
    clusterIPs: ['10.96.0.20'],
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 81 }],
  },
  { name: 'db', namespace: 'prod', clusterIPs: ['None'], ports: [{ name: 'pg', port: 5432 }] },
  { name: 'ext', namespace: 'default', type: 'ExternalName', clusterIPs: [], externalName: 'example.org.', ports: [] },
  { name: 'dual', namespace: 'default', clusterIPs: ['10.96.0.30', 'fd00:10:96::30'], ports: [] },
];
const slices: DnsEndpointSlice[] = [
  {
    serviceName: 'db',
    namespace: 'prod',
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.244.1.5'], hostname: 'db-0', ready: true },
      { addresses: ['10.244.2.6'], hostname: 'db-1' },
      { addresses: ['10.244.2.7'], ready: false },
    ],
  },
  // a slice of a service with a ClusterIP: its endpoints are not published as names
  { serviceName: 'web', namespace: 'default', ports: [{ port: 8080 }], endpoints: [{ addresses: ['10.244.1.9'] }] },
];
const index = buildZoneIndex('cluster.local', services, slices);
const ask = (name: string, type = 'A') => resolveQuestion(index, { name, type }, { ttl: 5, serial: 7 });
const data = (name: string, type = 'A') => {
  const r = ask(name, type);
  if (r.kind !== 'answer') return r.kind;
  return r.answers.map((a) => ('data' in a ? a.data : undefined));
};

test('a ClusterIP service answers with its ClusterIP, case-insensitively and with a trailing dot', (t) => {
  t.deepEqual(data('web.default.svc.cluster.local'), ['10.96.0.20']);
  t.deepEqual(data('WEB.Default.svc.cluster.local.'), ['10.96.0.20']);
  const r = ask('web.default.svc.cluster.local');
  t.true(r.kind === 'answer' && r.answers.every((a) => 'ttl' in a && a.ttl === 5));
});

test('dual-stack services answer A and AAAA separately', (t) => {
  t.deepEqual(data('dual.default.svc.cluster.local', 'A'), ['10.96.0.30']);
  t.deepEqual(data('dual.default.svc.cluster.local', 'AAAA'), ['fd00:10:96::30']);
});

test('a headless service answers with its ready endpoints only, and each named endpoint has its own name', (t) => {
  t.deepEqual(data('db.prod.svc.cluster.local'), ['10.244.1.5', '10.244.2.6']);
  t.deepEqual(data('db-0.db.prod.svc.cluster.local'), ['10.244.1.5']);
  t.deepEqual(data('db-1.db.prod.svc.cluster.local'), ['10.244.2.6']);
  const notReady = ask('10-244-2-7.db.prod.svc.cluster.local');
  t.true(notReady.kind === 'answer' && notReady.rcode === 'NXDOMAIN', 'a not-ready endpoint has no name');
});

test('publishNotReadyAddresses publishes not-ready endpoints under their dashed address', (t) => {
  const zone = buildZoneIndex('cluster.local', [{ ...services[1]!, publishNotReadyAddresses: true }], slices);
  const r = resolveQuestion(zone, { name: '10-244-2-7.db.prod.svc.cluster.local', type: 'A' }, { ttl: 5, serial: 1 });
  t.true(
    r.kind === 'answer' && r.answers.length === 1 && 'data' in r.answers[0]! && r.answers[0].data === '10.244.2.7',
  );
});

test('SRV records for named ports: the service name for ClusterIP services, each endpoint for headless ones', (t) => {
  t.deepEqual(data('_http._tcp.web.default.svc.cluster.local', 'SRV'), [
    { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
  ]);
  const headless = ask('_pg._tcp.db.prod.svc.cluster.local', 'SRV');
  t.true(headless.kind === 'answer');
  if (headless.kind !== 'answer') return;
  t.deepEqual(
    headless.answers.map((a) =>
      'data' in a && typeof a.data === 'object' && a.data !== null && 'target' in a.data ? a.data.target : '',
    ),
    ['db-0.db.prod.svc.cluster.local', 'db-1.db.prod.svc.cluster.local'],
  );
  t.deepEqual(
    headless.additionals.map((a) => a.name),
    ['db-0.db.prod.svc.cluster.local', 'db-1.db.prod.svc.cluster.local'],
    'targets come with their addresses',
  );
  const unnamed = ask('_81._tcp.web.default.svc.cluster.local', 'SRV');
  t.true(unnamed.kind === 'answer' && unnamed.rcode === 'NXDOMAIN', 'unnamed ports have no SRV name');
});

test('ExternalName services answer with a CNAME for any type', (t) => {
  t.deepEqual(data('ext.default.svc.cluster.local', 'A'), ['example.org']);
  const r = ask('ext.default.svc.cluster.local', 'A');
  t.true(r.kind === 'answer' && r.answers[0]!.type === 'CNAME');
});

test('PTR for ClusterIPs and named headless endpoints; other reverse names are forwarded', (t) => {
  t.is(reverseName('10.96.0.20'), '20.0.96.10.in-addr.arpa');
  t.is(reverseName('fd00:10:96::30'), '0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa');
  t.deepEqual(data('20.0.96.10.in-addr.arpa', 'PTR'), ['web.default.svc.cluster.local']);
  t.deepEqual(data('5.1.244.10.in-addr.arpa', 'PTR'), ['db-0.db.prod.svc.cluster.local']);
  t.is(ask('1.1.168.192.in-addr.arpa', 'PTR').kind, 'forward');
});

test('unknown names in the zone are NXDOMAIN with the SOA; known names without that type are NODATA', (t) => {
  const missing = ask('nope.default.svc.cluster.local');
  t.true(missing.kind === 'answer' && missing.rcode === 'NXDOMAIN' && missing.authorities[0]?.type === 'SOA');
  const nodata = ask('web.default.svc.cluster.local', 'AAAA');
  t.true(
    nodata.kind === 'answer' &&
      nodata.rcode === 'NOERROR' &&
      nodata.answers.length === 0 &&
      nodata.authorities[0]?.type === 'SOA',
  );
  const intermediate = ask('default.svc.cluster.local');
  t.true(intermediate.kind === 'answer' && intermediate.rcode === 'NOERROR', 'a name with names below it exists');
});

test('pod names by dashed address, and the DNS schema version', (t) => {
  t.deepEqual(data('10-244-1-77.default.pod.cluster.local'), ['10.244.1.77']);
  t.deepEqual(data('dns-version.cluster.local', 'TXT'), ['1.1.0']);
});

test('names outside the cluster zone are forwarded', (t) => {
  t.is(ask('example.org').kind, 'forward');
  t.is(ask('cluster.local.example.org').kind, 'forward');
});

test('the cache keeps positive answers for their smallest TTL and negative ones for the SOA minimum, both capped', (t) => {
  let now = 1_000_000;
  const cache = new ResponseCache(
    { now: () => now },
    { maxEntries: 2, maxPositiveTtlSeconds: 300, maxNegativeTtlSeconds: 30 },
  );
  const key = ResponseCache.key('Example.org.', 'A');
  t.is(
    cache.put(key, {
      flags: 0,
      answers: [
        { type: 'A', name: 'example.org', ttl: 60, data: '192.0.2.1' },
        { type: 'A', name: 'example.org', ttl: 40, data: '192.0.2.2' },
      ],
    }),
    40,
  );
  now += 10_000;
  const hit = cache.get(key);
  t.deepEqual(
    hit?.answers.map((a) => ('ttl' in a ? a.ttl : -1)),
    [50, 30],
    'served TTLs count down',
  );
  now += 31_000;
  t.is(cache.get(key), undefined, 'expired after the smallest TTL');

  const soa = { type: 'SOA' as const, name: 'org', ttl: 900, data: { mname: 'a', rname: 'b', minimum: 600 } };
  t.is(cache.put('nx|A', { flags: 3, authorities: [soa] }), 30, 'NXDOMAIN capped at 30 s');
  t.is(cache.put('nosoa|A', { flags: 3, authorities: [] }), 0, 'no SOA, no negative caching');
  t.is(cache.put('fail|A', { flags: 2 }), 0, 'SERVFAIL is never cached');
  t.is(cache.put('long|A', { flags: 0, answers: [{ type: 'A', name: 'x', ttl: 86400, data: '192.0.2.3' }] }), 300);
  t.is(cache.size, 2, 'bounded: the oldest entry made room');
});

test("forwarding skips loopback stubs (systemd-resolved's 127.0.0.53) for the resolvers behind them, keeping them only as a last resort", (t) => {
  const addresses = (list: { address: string }[]) => list.map((u) => u.address);
  const stub = 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.internal\n';
  const behind = 'nameserver 192.0.2.53\nnameserver 198.51.100.53\n';
  t.deepEqual(
    addresses(chooseUpstreams(stub, behind)),
    ['192.0.2.53', '198.51.100.53'],
    'the resolvers behind the stub',
  );
  t.deepEqual(
    addresses(chooseUpstreams('nameserver 127.0.0.1\nnameserver 203.0.113.1\n', behind)),
    ['203.0.113.1'],
    'a real resolver of the host file wins',
  );
  t.deepEqual(
    addresses(chooseUpstreams(stub, undefined)),
    ['127.0.0.53'],
    'nothing else known: the stub, reachable from the host namespace',
  );
  t.deepEqual(
    addresses(chooseUpstreams('nameserver 10.96.0.10\nnameserver 192.0.2.1\n', undefined, ['10.96.0.10'])),
    ['192.0.2.1'],
    'never ourselves',
  );
  t.deepEqual(addresses(chooseUpstreams('nameserver ::1\n', behind)), ['192.0.2.53', '198.51.100.53']);
});
