/**
 * The load-balancer address executor against a real kernel, inside network namespaces the test
 * makes: a "node" namespace (172.31.7.1) and a "client" one (172.31.7.2) on one veth. A pool
 * address bound by the binder answers ARP on the node's link (the client reaches a server on the
 * node through it) and goes when the Service names another node; the node's own address stays.
 */
import test from 'ava';
import { pino } from 'pino';
import type { Service } from '../../../kube/corev1.ts';
import { chosen } from './fixtures.ts';

import { LoadBalancerAddressBinder } from '../../../agent/load-balancer/address-binder.ts';
import { Lab, labUnavailable, waitFor } from '../../netproxy/real/lab.ts';

const unavailable = labUnavailable();
const lab = unavailable === undefined ? new Lab() : undefined;
test.after.always(() => lab?.destroy());

function lb(node: string): Service {
  return {
    metadata: { name: 'web', namespace: 'default' },
    spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
    status: { loadBalancer: { ingress: [{ ip: '172.31.7.50' }] }, conditions: [chosen(node)] },
  };
}

(unavailable === undefined ? test : test.skip)(
  'a bound pool address answers ARP on the node link and goes when another node is named',
  async (t) => {
    const l = lab!;
    const node = await l.namespace('lbn');
    const client = await l.namespace('lbc');
    await l.link(node, 'lbn0', client, 'lbc0');
    await l.must(['ip', '-n', node, 'addr', 'add', '172.31.7.1/24', 'dev', 'lbn0']);
    await l.must(['ip', '-n', client, 'addr', 'add', '172.31.7.2/24', 'dev', 'lbc0']);
    await l.must(['mkdir', '-p', `${l.dir}/www`]);
    await l.must(['sh', '-c', `echo served-by-node > ${l.dir}/www/index.html`]);
    l.spawn(node, ['busybox', 'httpd', '-f', '-p', '0.0.0.0:8080', '-h', `${l.dir}/www`]);

    let services = [lb('n1')];
    const binder = new LoadBalancerAddressBinder({
      nodeName: 'n1',
      nodeIP: '172.31.7.1',
      runner: l.runner(node),
      services: () => services,
      log: pino({ level: 'silent' }),
    });
    t.deepEqual((await binder.sync()).add, ['172.31.7.50']);
    const shown = await l.must(['ip', '-n', node, '-j', 'addr', 'show', 'dev', 'lbn0']);
    t.true(shown.includes('"local":"172.31.7.50"') && shown.includes('"label":"lbn0:lb"'));
    const fetch = () => l.inNs(client, ['busybox', 'wget', '-q', '-O', '-', 'http://172.31.7.50:8080/'], 5_000);
    const body = await waitFor(
      'the client reaches the pool address',
      async () => {
        const r = await fetch();
        return r.code === 0 ? r.stdout : undefined;
      },
      10_000,
    );
    t.is(body.trim(), 'served-by-node');
    // a second pass changes nothing
    t.deepEqual(await binder.sync(), { add: [], remove: [] });

    services = [lb('n2')];
    t.deepEqual((await binder.sync()).remove, ['172.31.7.50']);
    const after = await l.must(['ip', '-n', node, '-j', 'addr', 'show', 'dev', 'lbn0']);
    t.false(after.includes('172.31.7.50'));
    t.true(after.includes('"local":"172.31.7.1"'), 'the node’s own address stays');
  },
);

(unavailable === undefined ? test.serial : test.skip)(
  'a client that cached the previous holder learns the new one as soon as the address is bound',
  async (t) => {
    const l = lab!;
    const node = await l.namespace('lan');
    const client = await l.namespace('lac');
    await l.link(node, 'lan0', client, 'lac0');
    await l.must(['ip', '-n', node, 'addr', 'add', '172.31.8.1/24', 'dev', 'lan0']);
    await l.must(['ip', '-n', client, 'addr', 'add', '172.31.8.2/24', 'dev', 'lac0']);
    const mac = async (ns: string, dev: string) =>
      (JSON.parse(await l.must(['ip', '-n', ns, '-j', 'link', 'show', dev])) as { address: string }[])[0]!.address;
    const nodeMac = await mac(node, 'lan0');
    // the client still has the previous holder's MAC for the address; the node has talked to the client
    await l.must([
      'ip',
      '-n',
      client,
      'neigh',
      'replace',
      '172.31.8.50',
      'lladdr',
      '02:00:00:00:00:99',
      'dev',
      'lac0',
      'nud',
      'stale',
    ]);
    await l.must([
      'ip',
      '-n',
      node,
      'neigh',
      'replace',
      '172.31.8.2',
      'lladdr',
      await mac(client, 'lac0'),
      'dev',
      'lan0',
      'nud',
      'stale',
    ]);
    const binder = new LoadBalancerAddressBinder({
      nodeName: 'n1',
      nodeIP: '172.31.8.1',
      runner: l.runner(node),
      services: () => [
        { ...lb('n1'), status: { ...lb('n1').status, loadBalancer: { ingress: [{ ip: '172.31.8.50' }] } } },
      ],
      log: pino({ level: 'silent' }),
    });
    t.deepEqual((await binder.sync()).add, ['172.31.8.50']);
    const cached = await waitFor(
      'the client caching the new holder for 172.31.8.50',
      async () => {
        const entries = JSON.parse(await l.must(['ip', '-n', client, '-j', 'neigh', 'show', '172.31.8.50'])) as {
          lladdr?: string;
        }[];
        return entries[0]?.lladdr === nodeMac ? entries[0].lladdr : undefined;
      },
      5_000,
    );
    t.is(cached, nodeMac);
  },
);
