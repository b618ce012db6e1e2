/** The IPVS backend's plan, traced (this kernel has no ip_vs; the live test lives elsewhere). */
import test from 'ava';
import {
  ipsetRestoreText,
  ipvsInterface,
  ipvsPlanCommands,
  parseIpvsSave,
  type VirtualServer,
} from '../../netproxy/ipvs-renderer.ts';
import { landing, tracePacket, type Packet } from '../../netproxy/tracer.ts';
import { localPod, offClusterClient, remotePod, service, slice, stateOf, thisNode } from './fixtures.ts';
import { ipvsSetup } from './ipvs-harness.ts';

const tcp = (src: string, dst: string, dport: number): Packet => ({ src, dst, protocol: 'tcp', dport });

test('cluster IP: on the dummy interface, round robin over ready endpoints, pods not masqueraded', (t) => {
  const { plan, model, context } = ipvsSetup(
    stateOf([service('web')], [slice('web', [localPod(5), remotePod(6), { ip: remotePod(7), ready: false }])]),
  );
  t.deepEqual(plan.interfaceAddresses, ['10.96.0.10']);
  t.is(ipvsInterface, 'bosun-ipvs0');
  const out = tracePacket(model, tcp(localPod(9), '10.96.0.10', 80), 'forwarded', context);
  t.deepEqual([...landing(out)].sort(), [
    [`${localPod(5)}:8080`, 0.5],
    [`${remotePod(6)}:8080`, 0.5],
  ]);
  t.false(out.some((o) => o.masqueraded));
  t.true(
    tracePacket(model, tcp(offClusterClient, '10.96.0.10', 80), 'forwarded', context).every((o) => o.masqueraded),
    'off-cluster clients are masqueraded',
  );
});

test('no endpoints: REJECT from pods and from the node', (t) => {
  const { model, context } = ipvsSetup(stateOf([service('web')], []));
  t.deepEqual(
    [...landing(tracePacket(model, tcp(localPod(9), '10.96.0.10', 80), 'forwarded', context))],
    [['REJECT', 1]],
  );
  t.deepEqual([...landing(tracePacket(model, tcp(thisNode.ip, '10.96.0.10', 80), 'local', context))], [['REJECT', 1]]);
});

test('node port: Cluster policy masquerades; Local keeps the source and drops without local endpoints', (t) => {
  const cluster = service('np', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
  const local = service('lp', {
    clusterIP: '10.96.0.11',
    type: 'NodePort',
    externalLocal: true,
    ports: [{ name: 'http', port: 80, nodePort: 30081 }],
  });
  const { model, context } = ipvsSetup(
    stateOf([cluster, local], [slice('np', [remotePod(6)]), slice('lp', [localPod(5), remotePod(6)])]),
  );
  t.deepEqual(
    tracePacket(model, tcp(offClusterClient, thisNode.ip, 30080), 'forwarded', context).map((o) => [
      o.endpoint,
      o.masqueraded,
    ]),
    [[`${remotePod(6)}:8080`, true]],
  );
  t.deepEqual(
    tracePacket(model, tcp(offClusterClient, thisNode.ip, 30081), 'forwarded', context).map((o) => [
      o.endpoint,
      o.masqueraded,
    ]),
    [[`${localPod(5)}:8080`, false]],
  );
  const none = ipvsSetup(stateOf([local], [slice('lp', [remotePod(6)])]));
  t.deepEqual(
    [...landing(tracePacket(none.model, tcp(offClusterClient, thisNode.ip, 30081), 'forwarded', none.context))],
    [['DROP', 1]],
  );
});

test('hairpin is masqueraded; ClientIP affinity becomes persistence', (t) => {
  const { plan, model, context } = ipvsSetup(
    stateOf([service('web', { affinitySeconds: 90 })], [slice('web', [localPod(5)])]),
  );
  t.deepEqual(
    tracePacket(model, tcp(localPod(5), '10.96.0.10', 80), 'forwarded', context).map((o) => o.masqueraded),
    [true],
  );
  t.is(plan.virtualServers[0]!.persistenceSeconds, 90);
});

test('external and load-balancer IPs get virtual servers and are masqueraded under Cluster policy', (t) => {
  const svc = service('lb', {
    type: 'LoadBalancer',
    externalIPs: ['192.0.2.20'],
    lbIPs: ['192.0.2.30'],
    ports: [{ name: 'http', port: 80, nodePort: 30082 }],
  });
  const { plan, model, context } = ipvsSetup(stateOf([svc], [slice('lb', [remotePod(6)])]));
  t.deepEqual(plan.interfaceAddresses, ['10.96.0.10', '192.0.2.20', '192.0.2.30']);
  for (const dst of ['192.0.2.20', '192.0.2.30']) {
    t.deepEqual(
      tracePacket(model, tcp(offClusterClient, dst, 80), 'forwarded', context).map((o) => [o.endpoint, o.masqueraded]),
      [[`${remotePod(6)}:8080`, true]],
    );
  }
});

test('ipvsadm restore commands change only what differs from the kernel', (t) => {
  const observedText = [
    '-A -t 10.96.0.10:80 -s rr',
    '-a -t 10.96.0.10:80 -r 10.244.2.6:8080 -m -w 1',
    '-a -t 10.96.0.10:80 -r 10.244.2.9:8080 -m -w 1',
    '-A -u 10.96.0.99:53 -s rr',
  ].join('\n');
  const observed = parseIpvsSave(observedText);
  t.is(observed.length, 2);
  const desired: VirtualServer[] = [
    {
      protocol: 'tcp',
      address: '10.96.0.10',
      port: 80,
      scheduler: 'rr',
      persistenceSeconds: 0,
      reals: [
        { address: '10.244.2.6', port: 8080 },
        { address: '10.244.2.7', port: 8080 },
      ],
    },
    { protocol: 'sctp', address: '10.96.0.12', port: 9, scheduler: 'rr', persistenceSeconds: 60, reals: [] },
  ];
  t.deepEqual(ipvsPlanCommands(desired, observed), [
    '-D -u 10.96.0.99:53',
    '-d -t 10.96.0.10:80 -r 10.244.2.9:8080',
    '-a -t 10.96.0.10:80 -r 10.244.2.7:8080 -m -w 1',
    '-A --sctp-service 10.96.0.12:9 -s rr -p 60',
  ]);
  t.deepEqual(
    ipvsPlanCommands(
      desired.slice(0, 1),
      parseIpvsSave(observedText)
        .slice(0, 1)
        .map((v) => ({ ...v, reals: desired[0]!.reals })),
    ),
    [],
  );
});

test('ipset restore text creates, flushes and fills each set', (t) => {
  const { plan } = ipvsSetup(
    stateOf(
      [service('np', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })],
      [slice('np', [localPod(5)])],
    ),
  );
  const text = ipsetRestoreText(plan.ipsets);
  t.true(
    text.includes(
      'create BOSUN-CLUSTER-IP hash:ip,port family inet -exist\nflush BOSUN-CLUSTER-IP\nadd BOSUN-CLUSTER-IP 10.96.0.10,tcp:80\n',
    ),
  );
  t.true(text.includes('add BOSUN-NODE-PORT-TCP 30080\n'));
  t.true(text.includes(`add BOSUN-LOOP-BACK ${localPod(5)},tcp:8080,${localPod(5)}\n`));
});

test('loadBalancerSourceRanges hold in the IPVS mode too: listed clients pass, others are dropped', (t) => {
  const svc = service('fw', {
    type: 'LoadBalancer',
    lbIPs: ['192.0.2.30'],
    sourceRanges: ['203.0.113.0/28'],
    ports: [{ name: 'http', port: 80, nodePort: 30084 }],
  });
  const { model, context } = ipvsSetup(stateOf([svc], [slice('fw', [remotePod(6)])]));
  t.deepEqual(
    tracePacket(model, tcp(offClusterClient, '192.0.2.30', 80), 'forwarded', context).map((o) => o.endpoint),
    [`${remotePod(6)}:8080`],
  );
  t.deepEqual(
    tracePacket(model, tcp('198.51.100.10', '192.0.2.30', 80), 'forwarded', context).map((o) => o.verdict),
    ['DROP'],
  );
});
