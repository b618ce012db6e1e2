/**
 * The cluster DNS server on loopback, queried by a real resolver (Node's c-ares), forwarding to a
 * stateful fake upstream on loopback that counts queries and can be told to stay silent.
 */
import test from 'ava';
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { DnsServer } from '../../../agent/dns/server.ts';
import { buildZoneIndex, type DnsEndpointSlice } from '../../../agent/dns/records.ts';

class FakeUpstream {
  readonly socket = createSocket('udp4');
  queries: string[] = [];
  silent = false;
  async start(): Promise<number> {
    this.socket.on('message', (message, remote) => {
      const query = dnsPacket.decode(message);
      const question = query.questions![0]!;
      this.queries.push(`${question.name}/${question.type}`);
      if (this.silent) return;
      const known = question.name === 'example.org';
      this.socket.send(
        dnsPacket.encode({
          type: 'response',
          id: query.id ?? 0,
          flags: dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
          questions: query.questions ?? [],
          answers: known ? [{ type: 'A', name: 'example.org', ttl: 60, data: '192.0.2.10' }] : [],
          authorities: known
            ? []
            : [
                {
                  type: 'SOA',
                  name: 'org',
                  ttl: 300,
                  data: {
                    mname: 'ns.org',
                    rname: 'host.org',
                    serial: 1,
                    refresh: 1,
                    retry: 1,
                    expire: 1,
                    minimum: 300,
                  },
                },
              ],
        }),
        remote.port,
        remote.address,
      );
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    return this.socket.address().port;
  }
}

const upstream = new FakeUpstream();
let server: DnsServer;
const resolver = new Resolver({ timeout: 3_000, tries: 1 });

const manyEndpoints: DnsEndpointSlice = {
  serviceName: 'big',
  namespace: 'default',
  ports: [],
  endpoints: Array.from({ length: 100 }, (_, i) => ({
    addresses: [`10.244.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`],
  })),
};

test.before(async () => {
  const upstreamPort = await upstream.start();
  server = new DnsServer({
    address: '127.0.0.1',
    port: 0,
    upstreams: [{ address: '127.0.0.1', port: upstreamPort }],
    forwardTimeoutMs: 500,
  });
  await server.listen();
  server.setZone(
    buildZoneIndex(
      'cluster.local',
      [
        { name: 'web', namespace: 'default', clusterIPs: ['10.96.0.20'], ports: [] },
        { name: 'big', namespace: 'default', clusterIPs: ['None'], ports: [] },
      ],
      [manyEndpoints],
    ),
  );
  resolver.setServers([`127.0.0.1:${server.port}`]);
});

test.after.always(async () => {
  await server?.close();
  upstream.socket.close();
});

test.serial('cluster names are answered from the zone', async (t) => {
  t.deepEqual(await resolver.resolve4('web.default.svc.cluster.local'), ['10.96.0.20']);
  const missing = await t.throwsAsync(resolver.resolve4('nope.default.svc.cluster.local'));
  t.is((missing as NodeJS.ErrnoException).code, 'ENOTFOUND');
  t.deepEqual(upstream.queries, [], 'nothing of the cluster zone was forwarded');
});

test.serial('other names are forwarded once, then served from the cache', async (t) => {
  t.deepEqual(await resolver.resolve4('example.org'), ['192.0.2.10']);
  t.deepEqual(await resolver.resolve4('example.org'), ['192.0.2.10']);
  t.deepEqual(
    upstream.queries.filter((q) => q === 'example.org/A'),
    ['example.org/A'],
  );
  t.true(server.stats.cacheHits >= 1);
});

test.serial('negative answers from upstream are cached too', async (t) => {
  await t.throwsAsync(resolver.resolve4('missing.example.net'));
  await t.throwsAsync(resolver.resolve4('missing.example.net'));
  t.is(upstream.queries.filter((q) => q === 'missing.example.net/A').length, 1);
});

test.serial('an upstream that does not answer gives SERVFAIL, and that is not cached', async (t) => {
  upstream.silent = true;
  try {
    const err = await t.throwsAsync(resolver.resolve4('silent.example.com'));
    t.is((err as NodeJS.ErrnoException).code, 'ESERVFAIL');
    await t.throwsAsync(resolver.resolve4('silent.example.com'));
    t.is(upstream.queries.filter((q) => q === 'silent.example.com/A').length, 2);
  } finally {
    upstream.silent = false;
  }
});

test.serial(
  'a large answer is truncated over UDP and complete over TCP (the resolver retries by itself)',
  async (t) => {
    const addresses = await resolver.resolve4('big.default.svc.cluster.local');
    t.is(addresses.length, 100);
    // the same over UDP by hand: TC set, no answers
    const udp = createSocket('udp4');
    const reply = await new Promise<Buffer>((resolve) => {
      udp.once('message', (message) => resolve(message));
      udp.send(
        dnsPacket.encode({ type: 'query', id: 42, questions: [{ type: 'A', name: 'big.default.svc.cluster.local' }] }),
        server.port,
        '127.0.0.1',
      );
    });
    udp.close();
    const decoded = dnsPacket.decode(reply);
    t.true(decoded.flag_tc);
    t.is(decoded.answers?.length, 0);
  },
);

test.serial('TCP queries are answered with the length prefix', async (t) => {
  const socket = connect({ host: '127.0.0.1', port: server.port });
  const reply = await new Promise<Buffer>((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) resolve(buffered.subarray(2));
    });
    socket.write(
      dnsPacket.streamEncode({
        type: 'query',
        id: 7,
        questions: [{ type: 'A', name: 'web.default.svc.cluster.local' }],
      }),
    );
  });
  socket.destroy();
  const decoded = dnsPacket.decode(reply);
  t.is(decoded.id, 7);
  t.true(decoded.flag_aa);
  t.deepEqual(
    decoded.answers?.map((a) => ('data' in a ? a.data : '')),
    ['10.96.0.20'],
  );
});

test.serial('garbage gets FORMERR or silence, and the server keeps answering', async (t) => {
  const formerr = await server.answer(
    Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01]), Buffer.alloc(10, 0xff)]),
    'udp',
  );
  t.truthy(formerr);
  t.is(formerr!.readUInt16BE(0), 0x1234);
  t.is(formerr!.readUInt16BE(2) & 0xf, 1, 'FORMERR');
  t.is(await server.answer(Buffer.from([1, 2, 3]), 'udp'), undefined);
  t.deepEqual(await resolver.resolve4('web.default.svc.cluster.local'), ['10.96.0.20']);
});
