/**
 * The address pool on real sandbox nodes: `bosun server --lb-address-pool` gives a LoadBalancer
 * Service a pool address, one node binds it (the hub reaches it through ARP on the nodes'
 * segment), and when that node is partitioned away (`bosun sandbox partition`) the server names
 * another node, whose agent binds the address, and the hub reaches the Service again. After the
 * heal the old holder lets the address go.
 */
import test from 'ava';
import type { Service } from '../../kube/corev1.ts';
import { addressNodeOf } from '../../kube/load-balancer-names.ts';
import { inNetns } from '../../host/process/process.ts';
import { ProcessRunner } from '../../netproxy/command-runner.ts';
import { waitFor } from '../helpers/wait.ts';
import { useSandboxCluster } from '../helpers/sandbox-cluster.ts';
import { applyList, curlFromHub, lbService, whoPod } from './load-balancer-scenarios.ts';

// the pool sits on the nodes' segment (172.30.0.0/24), so the hub resolves its addresses by ARP;
// grace shortened from 50 s so the move shows within the test's time
const cluster = useSandboxCluster({
  idPrefix: 'blp',
  nodes: 2,
  serverArgs: [
    '--lb-address-pool',
    '172.30.0.200/29',
    '--node-monitor-grace-period',
    '15s',
    '--node-monitor-period',
    '1s',
  ],
});
const kubectl = cluster.kubectl;
const poolAddress = '172.30.0.201';
const host = new ProcessRunner();

const getService = async () => JSON.parse(await kubectl('get', 'service', 'who-pool', '-o', 'json')) as Service;
const holderOf = (svc: Service) => addressNodeOf(svc);

async function nodeHolds(node: string): Promise<boolean> {
  const netns = cluster.sandbox().node(node).netns;
  const r = await host.run(inNetns(undefined, ['ip', '-n', netns, '-j', 'addr', 'show', 'dev', 'eth0']));
  return r.stdout.includes(`"local":"${poolAddress}"`);
}

test.serial('a pool address is bound on one node and moves to the other when its node is partitioned', async (t) => {
  t.timeout(420_000, 'pods, a partition past the grace period and a heal on a loaded machine');
  await applyList(cluster, 'pool.json', [
    whoPod('who-1', 'who', 'node-1'),
    whoPod('who-2', 'who', 'node-2'),
    lbService('who-pool', 80, 'Cluster', 'who'),
  ]);
  const svc = await waitFor(
    async () => {
      const s = await getService();
      return s.status?.loadBalancer?.ingress?.[0]?.ip === poolAddress && holderOf(s) !== undefined && s;
    },
    { what: `who-pool given ${poolAddress} and a node to bind it`, timeoutMs: 60_000, intervalMs: 500 },
  );
  const holder = holderOf(svc)!;
  const other = holder === 'node-1' ? 'node-2' : 'node-1';
  await waitFor(async () => await nodeHolds(holder), {
    what: `${holder} binding ${poolAddress}`,
    timeoutMs: 30_000,
    intervalMs: 250,
  });
  t.false(await nodeHolds(other), `${other} does not bind it`);
  const hub = cluster.sandbox().hubNetns;
  const first = await waitFor(
    async () => {
      const r = await curlFromHub(hub, `http://${poolAddress}/cgi-bin/who`);
      return r.status === 200 && r.body !== '' && r.body;
    },
    { what: `the hub reaching who-pool at ${poolAddress}`, timeoutMs: 120_000, intervalMs: 250 },
  );
  t.regex(first, /^node-[12] /);

  await cluster.sandbox().partition(holder);
  const cutAt = Date.now();
  const since = () => `${((Date.now() - cutAt) / 1000).toFixed(1)} s`;
  let healed = false;
  try {
    const moved = await waitFor(
      async () => {
        const next = holderOf(await getService());
        return next !== holder && next;
      },
      { what: `the server moving ${poolAddress} off the partitioned ${holder}`, timeoutMs: 90_000, intervalMs: 500 },
    );
    t.is(moved, other);
    t.log(`the server named ${other} ${since()} after the partition (grace period 15 s)`);
    await waitFor(async () => await nodeHolds(other), {
      what: `${other} binding ${poolAddress}`,
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    const answer = await waitFor(
      async () => {
        const r = await curlFromHub(hub, `http://${poolAddress}/cgi-bin/who`, 2);
        return r.status === 200 && r.body.startsWith(`${other} `) && r.body;
      },
      { what: `the hub reaching who-pool through ${other}`, timeoutMs: 120_000, intervalMs: 500 },
    );
    t.log(`the hub reached who-pool again ${since()} after the partition: ${answer}`);
    await cluster.sandbox().heal(holder);
    healed = true;
    await waitFor(async () => !(await nodeHolds(holder)), {
      what: `${holder} letting ${poolAddress} go after the heal`,
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    t.true(await nodeHolds(other), `${other} keeps it`);
  } finally {
    if (!healed) await cluster.sandbox().heal(holder);
  }
});
