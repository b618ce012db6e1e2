import test from 'ava';
import type { Service } from '../../../kube/corev1.ts';
import { chosen } from './fixtures.ts';

import { desiredAddresses, planAddresses } from '../../../agent/load-balancer/address-plan.ts';
import {
  addressBatch,
  LoadBalancerAddressBinder,
  parseInterface,
} from '../../../agent/load-balancer/address-binder.ts';
import { pino } from 'pino';
import { announcementTargets } from '../../../agent/load-balancer/address-announcer.ts';

// This node is "n1" at 172.31.0.1; the pool is 192.0.2.0/28.

function lb(
  name: string,
  node: string | undefined,
  ips: string[],
  type: Service['spec']['type'] = 'LoadBalancer',
): Service {
  return {
    metadata: { name, namespace: 'default' },
    spec: { type, ports: [{ port: 80 }] },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) }, ...(node ? { conditions: [chosen(node)] } : {}) },
  };
}

test('the node binds the pool addresses of the Services that name it, and only those', (t) => {
  const services = [
    lb('a', 'n1', ['192.0.2.1']),
    lb('b', 'n2', ['192.0.2.2']),
    lb('c', undefined, ['172.31.0.2']),
    lb('d', 'n1', ['192.0.2.3'], 'ClusterIP'),
    lb('e', 'n1', ['192.0.2.4', '192.0.2.1']),
  ];
  t.deepEqual(desiredAddresses('n1', services, ['172.31.0.1']), ['192.0.2.1', '192.0.2.4']);
});

test('a status naming the node’s own, loopback, link-local, multicast or malformed addresses binds nothing', (t) => {
  const hostile = lb('h', 'n1', [
    '172.31.0.1',
    '127.0.0.1',
    '0.0.0.0',
    '169.254.169.254',
    '224.0.0.1',
    '255.255.255.255',
    '1.2.3.4 dev lo',
    '2001:db8::1',
  ]);
  t.deepEqual(desiredAddresses('n1', [hostile], ['172.31.0.1']), []);
});

test('the plan adds what is missing and removes only addresses we bound that are no longer wanted', (t) => {
  t.deepEqual(planAddresses(['192.0.2.1', '192.0.2.4'], ['192.0.2.1', '192.0.2.9']), {
    add: ['192.0.2.4'],
    remove: ['192.0.2.9'],
  });
  t.deepEqual(addressBatch({ add: ['192.0.2.4'], remove: ['192.0.2.9'] }, 'eth0', 'eth0:lb'), [
    'address del 192.0.2.9/32 dev eth0',
    'address add 192.0.2.4/32 dev eth0 label eth0:lb',
  ]);
});

test('our addresses are told apart from the node’s by their label', (t) => {
  const json = [
    { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1' }] },
    {
      ifname: 'eth0',
      addr_info: [
        { family: 'inet', local: '172.31.0.1', label: 'eth0' },
        { family: 'inet', local: '192.0.2.1', label: 'eth0:lb' },
        { family: 'inet', local: '192.0.2.7', label: 'eth0:other' },
        { family: 'inet6', local: 'fe80::1' },
      ],
    },
  ];
  t.deepEqual(parseInterface(json, '172.31.0.1'), {
    dev: 'eth0',
    addresses: ['172.31.0.1', '192.0.2.1', '192.0.2.7'],
    bound: ['192.0.2.1'],
  });
  t.is(parseInterface(json, '10.0.0.1'), undefined);
});

test('only the server’s choice counts: an annotation, or a Service of another class, binds nothing', (t) => {
  const annotated = lb('a', undefined, ['192.0.2.1']);
  annotated.metadata.annotations = { 'bosun.io/lb-address-node': 'n1' };
  const otherClass = lb('b', 'n1', ['192.0.2.2']);
  otherClass.spec.loadBalancerClass = 'example.com/elsewhere';
  t.deepEqual(desiredAddresses('n1', [annotated, otherClass], ['172.31.0.1']), []);
});

test('the move is announced through neighbours the kernel learnt, never through configured ones', (t) => {
  t.deepEqual(
    announcementTargets([
      { dst: '172.31.0.9', lladdr: 'aa:bb:cc:dd:ee:01', state: ['REACHABLE'] },
      { dst: '172.31.0.2', lladdr: 'aa:bb:cc:dd:ee:02', state: ['STALE'] },
      { dst: '172.31.0.3', lladdr: 'aa:bb:cc:dd:ee:03', state: ['PERMANENT'] },
      { dst: '172.31.0.4', state: ['FAILED'] },
      { dst: 'fe80::1', lladdr: 'aa:bb:cc:dd:ee:05', state: ['REACHABLE'] },
    ]),
    ['172.31.0.2', '172.31.0.9'],
  );
});

test('with no address to hold and none bound, the periodic sync reads nothing from the host', async (t) => {
  const ran: string[] = [];
  let services: Service[] = [];
  const shown = (bound: string[]) =>
    JSON.stringify([
      {
        ifname: 'eth0',
        addr_info: [
          { family: 'inet', local: '172.31.0.1', label: 'eth0' },
          ...bound.map((ip) => ({ family: 'inet', local: ip, label: 'eth0:lb' })),
        ],
      },
    ]);
  let onHost: string[] = ['192.0.2.9'];
  const binder = new LoadBalancerAddressBinder({
    nodeName: 'n1',
    nodeIP: '172.31.0.1',
    services: () => services,
    log: pino({ level: 'silent' }),
    runner: {
      run: async (argv, options) => {
        ran.push(argv.join(' '));
        if (argv.includes('-batch')) onHost = options?.input?.includes('add') ? ['192.0.2.1'] : [];
        return { code: 0, stdout: argv.includes('show') ? shown(onHost) : '', stderr: '' };
      },
    },
  });
  await binder.sync();
  t.deepEqual(ran, ['ip -j addr show', 'ip -force -batch -'], 'the first sync reads the host and removes a leftover');
  await binder.sync();
  await binder.sync();
  t.is(ran.length, 2, 'nothing to hold: no process started');
  services = [lb('web', 'n1', ['192.0.2.1'])];
  await binder.sync();
  t.is(ran[2], 'ip -j addr show', 'a Service to hold: the host is read again');
  t.deepEqual(binder.bound, ['192.0.2.1']);
});
