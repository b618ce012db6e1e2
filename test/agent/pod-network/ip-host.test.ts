/** The executor's pure halves: iproute2's JSON read back, and the batch lines written. */
import test from 'ava';
import {
  IpCommandHost,
  parseFdb,
  parseNeighbours,
  parseRoutes,
  parseUnderlay,
  parseVtep,
  peerBatches,
  vtepBatch,
} from '../../../agent/pod-network/ip-host.ts';

// captured from `ip -j ...` / `bridge -j ...` (iproute2 6.1) in a namespace with bosun.1 and a peer
const routes = [
  { dst: '10.96.0.0/12', gateway: '198.18.1.2', dev: 'sink0', flags: [] },
  { dst: '10.244.0.0/24', gateway: '10.244.0.0', dev: 'bosun.1', protocol: '98', flags: ['onlink'] },
  { dst: '10.244.1.0/24', gateway: '172.30.0.13', dev: 'eth0', protocol: '98', flags: [] },
  { dst: '10.244.2.0/24', dev: 'cni0', protocol: 'kernel', scope: 'link', prefsrc: '10.244.2.1', flags: [] },
  { dst: '172.30.0.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '172.30.0.11', flags: [] },
  { dst: '172.30.0.0/16', gateway: '172.30.0.1', dev: 'eth0', flags: [] },
  { dst: '198.18.1.0/30', dev: 'sink0', protocol: 'kernel', scope: 'link', prefsrc: '198.18.1.1', flags: [] },
];
const vtep = [
  {
    ifname: 'bosun.1',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1450,
    address: 'c6:e1:e7:b8:f7:6b',
    linkinfo: {
      info_kind: 'vxlan',
      info_data: { id: 1, local: '172.30.0.11', port: 8472, learning: false, udp_csum: false },
    },
    addr_info: [
      { family: 'inet', local: '10.244.2.0', prefixlen: 32 },
      { family: 'inet6', local: 'fe80::c4e1:e7ff:feb8:f76b', prefixlen: 64 },
    ],
  },
];

test('our routes are those with our protocol number; connected subnets are the kernel link routes of other links', (t) => {
  t.deepEqual(parseRoutes(routes), {
    routes: [
      { dst: '10.244.0.0/24', via: '10.244.0.0', dev: 'bosun.1', onlink: true },
      { dst: '10.244.1.0/24', via: '172.30.0.13', onlink: false },
    ],
    connectedSubnets: ['172.30.0.0/24', '198.18.1.0/30'],
  });
});

test('bosun.1 is read with its VXLAN settings and IPv4 addresses; another kind of link is no VTEP', (t) => {
  t.deepEqual(parseVtep(vtep), {
    mac: 'c6:e1:e7:b8:f7:6b',
    vni: 1,
    local: '172.30.0.11',
    port: 8472,
    learning: false,
    udpChecksum: false,
    mtu: 1450,
    up: true,
    addresses: ['10.244.2.0/32'],
  });
  t.is(parseVtep([{ ...vtep[0], linkinfo: { info_kind: 'bridge', info_data: {} } }]), undefined);
  t.is(parseVtep([]), undefined);
  t.deepEqual(parseUnderlay([{ ifname: 'eth0', mtu: 9000, addr_info: [{ local: '172.30.0.11' }] }], '172.30.0.11'), {
    dev: 'eth0',
    mtu: 9000,
  });
});

test('neighbour and FDB entries without an address (the kernel default entry) are not ours', (t) => {
  t.deepEqual(
    parseNeighbours([{ dst: '10.244.0.0', lladdr: '0A:74:08:9A:01:0F', state: ['PERMANENT'] }, { dst: 'fe80::1' }]),
    [{ ip: '10.244.0.0', mac: '0a:74:08:9a:01:0f' }],
  );
  t.deepEqual(
    parseFdb([
      { mac: '0a:74:08:9a:01:0f', dst: '172.30.1.12', flags: ['self'] },
      { mac: '33:33:00:00:00:01', flags: ['self'] },
    ]),
    [{ mac: '0a:74:08:9a:01:0f', dst: '172.30.1.12' }],
  );
});

test('batches: the VTEP without outer UDP checksums; removals first, routes last, every route with our protocol', (t) => {
  t.deepEqual(vtepBatch([{ kind: 'create-vtep', local: '172.30.0.11', mtu: 1450 }]), [
    'link add bosun.1 type vxlan id 1 local 172.30.0.11 dstport 8472 nolearning noudpcsum',
  ]);
  t.deepEqual(
    peerBatches([
      { kind: 'delete-route', route: { dst: '10.244.7.0/24', via: '172.30.0.17', onlink: false } },
      { kind: 'delete-fdb', entry: { mac: '02:aa:00:00:00:07', dst: '172.30.1.17' } },
      { kind: 'replace-fdb', entry: { mac: '02:aa:00:00:00:02', dst: '172.30.1.12' } },
      { kind: 'replace-neighbour', neighbour: { ip: '10.244.2.0', mac: '02:aa:00:00:00:02' } },
      { kind: 'replace-route', route: { dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'bosun.1', onlink: true } },
    ]),
    {
      before: ['route del 10.244.7.0/24 via 172.30.0.17 proto 98'],
      fdb: [
        'fdb del 02:aa:00:00:00:07 dev bosun.1 dst 172.30.1.17 self',
        'fdb replace 02:aa:00:00:00:02 dev bosun.1 dst 172.30.1.12 self permanent',
      ],
      after: [
        'neigh replace 10.244.2.0 lladdr 02:aa:00:00:00:02 dev bosun.1 nud permanent',
        'route replace 10.244.2.0/24 via 10.244.2.0 dev bosun.1 onlink proto 98',
      ],
    },
  );
});

test('a sync reads routes, addresses, the VTEP and its neighbours with one process', async (t) => {
  const calls: string[][] = [];
  // what the shell prints when bosun.1 does not exist yet: the three listings of it fail
  const listed = [JSON.stringify(routes), JSON.stringify(vtep), '', '', '']
    .map((out, i) => `${out}${out === '' ? '' : '\n'}@@bosun-listing-end ${i < 2 ? 0 : 1}\n`)
    .join('');
  const host = new IpCommandHost({
    run: async (argv) => {
      calls.push([...argv]);
      return { code: 0, stdout: listed, stderr: 'Device "bosun.1" does not exist.\n'.repeat(3) };
    },
  });
  const seen = await host.observe('10.244.2.0');
  t.is(calls.length, 1);
  t.is(calls[0]![0], 'sh');
  t.deepEqual(seen.routes, parseRoutes(routes).routes);
  t.is(seen.vtep, undefined, 'the VTEP listing failed: no VTEP');
  t.deepEqual([seen.neighbours, seen.fdb], [[], []]);
});
