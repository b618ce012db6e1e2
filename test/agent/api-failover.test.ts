/**
 * An agent's view of a dying API server, with real servers on one etcd: the node's clients go
 * through the loopback balancer (agent/api-servers.ts); the server they use is killed (SIGKILL);
 * the balancer moves to the other within seconds, the node lease keeps being renewed, the pod
 * informer resumes from its resourceVersion there (no relist) and sees what was written meanwhile,
 * and a server the agent was never told of is learned from the `kubernetes` EndpointSlice.
 */
import test from 'ava';
import { pino } from 'pino';
import { apiListWatch, Informer } from '../../kube/informer.ts';
import { refs } from '../../kube/resource-ref.ts';
import { startEtcd, type EtcdProcess } from '../controlplane/etcd-process.ts';
import { adminIdentity, call, type ServerProcess } from '../controlplane/server-process.ts';
import { startServerFleet } from '../controlplane/server-fleet.ts';
import { balancedNode } from './balanced-node.ts';
import { advertisedServers } from '../../agent/api-servers.ts';
import { waitFor } from '../controlplane/ports.ts';

const log = pino({ level: process.env.BOSUN_TEST_LOG ?? 'silent' });
let etcd: EtcdProcess;
let fleet: Awaited<ReturnType<typeof startServerFleet>>;

test.before(async () => {
  etcd = await startEtcd();
  fleet = await startServerFleet(etcd, 3);
});
test.after.always(async () => {
  await fleet?.destroy();
  await etcd?.destroy();
});

const pod = (name: string, node: string) => ({
  metadata: { name, namespace: 'default' },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] },
});

test.serial('servers the cluster advertises are learned from the kubernetes EndpointSlice', async (t) => {
  const servers = fleet.servers;
  const admin = adminIdentity(servers[0]!.dataDir);
  // the servers write the slice (one port for all: on one host, one of them): wait until it names a
  // server of the fleet, then tell the node of another one only
  let learned = '';
  await waitFor(
    'the kubernetes slice to name a server of the fleet',
    async () => {
      const slice = await call(
        servers[0]!,
        'GET',
        '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes',
        admin,
      );
      const urls = slice.status === 200 ? advertisedServers([slice.body]) : [];
      learned = servers.find((s) => urls.includes(s.url))?.url ?? '';
      return learned !== '';
    },
    10_000,
  );
  const told = servers.findIndex((s) => s.url !== learned);
  const node = await balancedNode(servers[told]!, [], 'n2', log, 10_000);
  const { balanced, client } = node;
  const learning = balanced.learn(client);
  try {
    await waitFor('the advertised server to join the list', () => balanced.balancer.servers.includes(learned), 10_000);
    await servers[told]!.kill();
    await waitFor('the balancer to move to the learned server', () => balanced.balancer.current === learned, 10_000);
    t.is((await client.get(refs.nodes, 'n2')).metadata.name, 'n2', 'the node reaches the cluster through it');
  } finally {
    node.close();
    await learning;
    // back for the next test (on a new port)
    servers[told] = await servers[told]!.restart();
  }
});

test.serial(
  'the server in use dies: the node switches within seconds, keeps its lease, resumes its watch',
  async (t) => {
    const [a, b] = fleet.servers as [ServerProcess, ServerProcess, ServerProcess];
    const node = await balancedNode(a, [b], 'n1', log, 500);
    const { balanced, client, lease } = node;
    const pods = new Informer(apiListWatch(client, refs.pods, { fieldSelector: 'spec.nodeName=n1' }), { retryMs: 100 });
    const stop = new AbortController();
    const leaseLoop = lease.run(stop.signal);
    const podLoop = pods.run();
    try {
      await pods.synced;
      await waitFor('a first lease renewal', () => lease.renewals > 0, 10_000);
      t.is(balanced.balancer.current, a.url);
      const admin = adminIdentity(a.dataDir);
      t.is((await call(a, 'POST', '/api/v1/namespaces/default/pods', admin, pod('before', 'n1'))).status, 201);
      await waitFor('the informer to see the first pod', () => pods.get('default/before') !== undefined, 5_000);

      const renewalsBefore = lease.renewals;
      const killedAt = Date.now();
      await a.kill();
      await waitFor('the balancer to move to the live server', () => balanced.balancer.current === b.url, 10_000);
      const switchedMs = Date.now() - killedAt;
      await waitFor('a lease renewal through the live server', () => lease.renewals > renewalsBefore, 10_000);
      const renewedMs = Date.now() - killedAt;
      t.log(`switched after ${switchedMs} ms, lease renewed ${renewedMs} ms after the kill`);
      t.true(renewedMs < 5_000, `the lease was renewed ${renewedMs} ms after the kill`);

      t.is((await call(b, 'POST', '/api/v1/namespaces/default/pods', admin, pod('meanwhile', 'n1'))).status, 201);
      await waitFor(
        'the informer to see a pod written through the live server',
        () => pods.get('default/meanwhile') !== undefined,
        10_000,
      );
      t.is(pods.lists, 1, 'the watch resumed from its resourceVersion: no relist');
      const held = await call(b, 'GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1', admin);
      t.true(Date.now() - Date.parse(held.body.spec.renewTime) < 5_000, 'the lease is fresh');
    } finally {
      stop.abort();
      pods.stop();
      await Promise.allSettled([leaseLoop, podLoop]);
      node.close();
    }
  },
);
