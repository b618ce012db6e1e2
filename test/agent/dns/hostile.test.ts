/**
 * The node-local DNS server against data and packets it should never see: Services and
 * EndpointSlices with fields the API server would refuse (port 70000, port names with dots, NUL or
 * 300 characters, unicode names), and malformed packets. Each is answered or dropped; the server
 * keeps answering good queries, and the process does not die of an unhandled rejection.
 */
import test from 'ava';
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { DnsServer } from '../../../agent/dns/server.ts';
import { buildZoneIndex, type DnsService } from '../../../agent/dns/records.ts';

const hostileServices: DnsService[] = [
  { name: 'big-port', namespace: 'default', clusterIPs: ['10.96.0.30'], ports: [{ name: 'http', port: 70000 }] },
  { name: 'dotted', namespace: 'default', clusterIPs: ['10.96.0.31'], ports: [{ name: 'a.b', port: 80 }] },
  { name: 'nul', namespace: 'default', clusterIPs: ['10.96.0.32'], ports: [{ name: 'a\u0000b', port: 80 }] },
  { name: 'long', namespace: 'default', clusterIPs: ['10.96.0.33'], ports: [{ name: 'x'.repeat(300), port: 80 }] },
  { name: 'l'.repeat(300), namespace: 'default', clusterIPs: ['10.96.0.34'], ports: [] },
  { name: 'caf\u00e9', namespace: 'default', clusterIPs: ['10.96.0.35'], ports: [] },
  { name: 'ext', namespace: 'default', type: 'ExternalName', externalName: 'a..b\nc', clusterIPs: [], ports: [] },
  { name: 'fractional', namespace: 'default', clusterIPs: ['10.96.0.36'], ports: [{ name: 'dns', port: 53.5 }] },
];
const goodService: DnsService = {
  name: 'web',
  namespace: 'default',
  clusterIPs: ['10.96.0.20'],
  ports: [{ name: 'http', port: 80 }],
};

let server: DnsServer;
const resolver = new Resolver({ timeout: 2_000, tries: 1 });

test.before(async () => {
  // no upstream listens on port 9 of loopback: forwarded names fail fast with SERVFAIL
  server = new DnsServer({
    address: '127.0.0.1',
    port: 0,
    upstreams: [{ address: '127.0.0.1', port: 9 }],
    forwardTimeoutMs: 300,
  });
  await server.listen();
  server.setZone(buildZoneIndex('cluster.local', [...hostileServices, goodService], []));
  resolver.setServers([`127.0.0.1:${server.port}`]);
});

test.after.always(async () => {
  await server?.close();
});

async function stillAnswers(t: import('ava').ExecutionContext): Promise<void> {
  t.deepEqual(await resolver.resolve4('web.default.svc.cluster.local'), ['10.96.0.20']);
}

function udpExchange(packet: Buffer, waitMs = 500): Promise<Buffer | undefined> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, waitMs);
    socket.once('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(message);
    });
    socket.send(packet, server.port, '127.0.0.1');
  });
}

test('records the wire cannot carry are left out of the zone; the good ones stay', (t) => {
  const index = buildZoneIndex('cluster.local', [...hostileServices, goodService], []);
  for (const name of index.records.keys()) t.regex(name, /^[a-z0-9_.-]{1,253}$/, name);
  t.false(index.records.has('_http._tcp.big-port.default.svc.cluster.local'), 'SRV with port 70000');
  t.false(index.records.has('_dns._tcp.fractional.default.svc.cluster.local'), 'SRV with port 53.5');
  t.false(index.records.has('ext.default.svc.cluster.local'), 'CNAME to a name with an empty label and a newline');
  t.true(index.records.has('big-port.default.svc.cluster.local'), 'the A record of a service with one bad port stays');
  t.deepEqual(index.records.get('_http._tcp.web.default.svc.cluster.local'), [
    { type: 'SRV', priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
  ]);
});

test.serial('queries for names of hostile records are answered, and the server keeps answering', async (t) => {
  const names = [
    '_http._tcp.big-port.default.svc.cluster.local',
    '_a.b._tcp.dotted.default.svc.cluster.local',
    'big-port.default.svc.cluster.local',
    'ext.default.svc.cluster.local',
  ];
  for (const name of names) {
    for (const type of ['SRV', 'A', 'CNAME', 'TXT'] as const) {
      const reply = await udpExchange(
        dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }),
        2_000,
      );
      t.truthy(reply, `${type} ${name} answered`);
      t.is(dnsPacket.decode(reply!).id, 7);
    }
  }
  const srv = await resolver.resolveSrv('_http._tcp.web.default.svc.cluster.local');
  t.deepEqual(
    srv.map((record) => record.port),
    [80],
  );
  await stillAnswers(t);
});

test.serial('malformed packets over UDP are answered with FORMERR or dropped', async (t) => {
  const question = dnsPacket.encode({
    type: 'query',
    id: 9,
    questions: [{ type: 'A', name: 'web.default.svc.cluster.local' }],
  });
  const header = Buffer.from(question.subarray(0, 12));
  header.writeUInt16BE(65535, 4); // claims 65535 questions, carries none
  const packets = [
    Buffer.alloc(0),
    Buffer.from([1, 2, 3]),
    header,
    question.subarray(0, question.length - 3),
    Buffer.concat([question.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), // a name pointing at itself
    Buffer.concat([question.subarray(0, 12), Buffer.alloc(600, 0x3f)]),
    Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) & 0xff)),
  ];
  for (const packet of packets) {
    const reply = await udpExchange(packet);
    if (reply !== undefined) t.is(dnsPacket.decode(reply).flags! & 0xf, 1, 'FORMERR');
  }
  await stillAnswers(t);
});

test.serial('a TCP client sending garbage is cut off without harm', async (t) => {
  const socket = connect(server.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const garbage = Buffer.alloc(20, 0xff);
  garbage.writeUInt16BE(18, 0);
  socket.write(garbage);
  socket.write(Buffer.from([0, 3, 1, 2, 3]));
  const srvQuery = dnsPacket.encode({
    type: 'query',
    id: 11,
    questions: [{ type: 'SRV', name: '_http._tcp.big-port.default.svc.cluster.local' }],
  });
  const length = Buffer.alloc(2);
  length.writeUInt16BE(srvQuery.length);
  socket.write(Buffer.concat([length, srvQuery]));
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.destroy();
  await stillAnswers(t);
});
