/** The IPVS executor against the fake host. */
import test from 'ava';
import { ProxyErrorCode } from '../../netproxy/errors.ts';
import { backends } from '../../netproxy/iptables-backend.ts';
import { ipvsUnavailable, parseInterfaceAddresses, planInterfaceAddresses } from '../../netproxy/ipvs-applier.ts';
import { ServiceProxy } from '../../netproxy/service-proxy.ts';
import { landing, tracePacket } from '../../netproxy/tracer.ts';
import { FakeHost } from './fake-host.ts';
import { localPod, remotePod, service, slice, testConfig, thisNode, traceContext } from './fixtures.ts';

function ipvsProxy(host: FakeHost) {
  return new ServiceProxy({
    nodeName: thisNode.name,
    runner: host,
    config: { ...testConfig, nodePortAddresses: [thisNode.ip] },
    backend: backends.nf_tables,
    mode: 'ipvs',
  });
}

test('an IPVS sync programs interface addresses, ipsets, virtual servers and the iptables part', async (t) => {
  const host = new FakeHost();
  const proxy = ipvsProxy(host);
  proxy.onServiceUpdate(
    undefined,
    service('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }),
  );
  proxy.onEndpointSliceUpdate(undefined, slice('web', [localPod(5), remotePod(6)]));
  const r = await proxy.sync();
  t.true(r.ok, r.error);
  t.deepEqual([...host.dummyAddresses], ['10.96.0.10']);
  t.deepEqual([...host.virtualServers.keys()].sort(), ['tcp|10.96.0.10|80', `tcp|${thisNode.ip}|30080`]);
  t.deepEqual(
    host.virtualServers.get('tcp|10.96.0.10|80')!.reals.map((x) => x.address),
    [localPod(5), remotePod(6)],
  );
  t.true(host.ipsets.get('BOSUN-NODE-PORT-TCP')!.has('30080'));
  // The iptables part, traced with the fake kernel's sets and servers: a node port is masqueraded.
  const servers = host.virtualServers;
  const out = tracePacket(
    host.nft,
    { src: '203.0.113.7', dst: thisNode.ip, protocol: 'tcp', dport: 30080 },
    'forwarded',
    {
      localAddresses: [...traceContext.localAddresses, ...host.dummyAddresses],
      ipsets: new Map(
        [...host.ipsets].map(([name, members]) => [
          name,
          {
            type: name.startsWith('BOSUN-NODE-PORT')
              ? ('bitmap:port' as const)
              : name === 'BOSUN-LOOP-BACK'
                ? ('hash:ip,port,ip' as const)
                : ('hash:ip,port' as const),
            members,
          },
        ]),
      ),
      ipvs: (protocol, dst, dport) => servers.get(`${protocol}|${dst}|${dport}`)?.reals,
    },
  );
  t.deepEqual([...landing(out)].sort(), [
    [`${localPod(5)}:8080`, 0.5],
    [`${remotePod(6)}:8080`, 0.5],
  ]);
  t.true(out.every((o) => o.masqueraded));

  // An endpoint goes: only that real server is removed; the link is not re-created.
  proxy.onEndpointSliceUpdate(undefined, slice('web', [localPod(5)]));
  host.calls.length = 0;
  t.true((await proxy.sync()).ok);
  const restore = host.calls.find((c) => c.argv.join(' ') === 'ipvsadm --restore');
  t.deepEqual(restore?.input?.trim().split('\n'), [
    `-d -t 10.96.0.10:80 -r ${remotePod(6)}:8080`,
    `-d -t ${thisNode.ip}:30080 -r ${remotePod(6)}:8080`,
  ]);
  // The service goes: its address leaves the interface and its servers are deleted.
  proxy.onServiceUpdate(service('web'), undefined);
  t.true((await proxy.sync()).ok);
  t.deepEqual([...host.dummyAddresses], []);
  t.is(host.virtualServers.size, 0);
});

test('a kernel without ip_vs is reported with a stable code and a clear reason', async (t) => {
  const host = new FakeHost();
  host.ipvsAvailable = false;
  const proxy = ipvsProxy(host);
  proxy.onServiceUpdate(undefined, service('web'));
  const r = await proxy.sync();
  t.false(r.ok);
  t.regex(r.error ?? '', /IPVS is not usable on this kernel \(Can't initialize ipvs: Protocol not available\)/);
  t.is(
    ipvsUnavailable({ code: 2, stderr: "Can't initialize ipvs: Protocol not available\nAre you sure" }),
    "Can't initialize ipvs: Protocol not available",
  );
  t.is(ipvsUnavailable({ code: 0, stderr: '' }), undefined);
  t.is(ProxyErrorCode.noIpvs, 'BOSUN_PROXY_NO_IPVS');
});

test('interface address plan: delete what is extra, add what is missing', (t) => {
  const shown =
    '9: bosun-ipvs0    inet 10.96.0.1/32 scope global bosun-ipvs0\n9: bosun-ipvs0    inet 10.96.0.2/32 scope global bosun-ipvs0\n';
  t.deepEqual(parseInterfaceAddresses(shown), ['10.96.0.1', '10.96.0.2']);
  t.deepEqual(planInterfaceAddresses(['10.96.0.1', '10.96.0.2'], ['10.96.0.2', '10.96.0.3']), [
    ['ip', 'addr', 'del', '10.96.0.1/32', 'dev', 'bosun-ipvs0'],
    ['ip', 'addr', 'add', '10.96.0.3/32', 'dev', 'bosun-ipvs0'],
  ]);
});
