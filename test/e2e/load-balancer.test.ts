/**
 * LoadBalancer Services on real sandbox nodes, reached with curl from the hub namespace (outside
 * every node): a Cluster-policy Service answers on every node's address; a Local-policy one only
 * on the node with its endpoint, where the pod sees the client's own address, and its
 * healthCheckNodePort says which node has endpoints (200) and which not (503).
 */
import test from 'ava';
import type { Service } from '../../kube/corev1.ts';
import { sandboxAddresses } from '../../sandbox/names.ts';
import { waitFor } from '../helpers/wait.ts';
import { useSandboxCluster } from '../helpers/sandbox-cluster.ts';
import { applyList, curlFromHub, lbService, whoPod } from './load-balancer-scenarios.ts';

const cluster = useSandboxCluster({ idPrefix: 'blb', nodes: 2 });
const kubectl = cluster.kubectl;
const node1 = sandboxAddresses.nodeIP(1);
const node2 = sandboxAddresses.nodeIP(2);

const getService = async (name: string) => JSON.parse(await kubectl('get', 'service', name, '-o', 'json')) as Service;
const ingress = (svc: Service) => (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(',');
const hub = () => cluster.sandbox().hubNetns;

test.serial(
  'a LoadBalancer Service answers on every node address; Local only where its endpoint is, with the client address kept',
  async (t) => {
    t.timeout(300_000, 'pods and Services on a loaded machine');
    await applyList(cluster, 'lb.json', [
      whoPod('who-1', 'who', 'node-1'),
      lbService('who-cluster', 8081, 'Cluster', 'who'),
      lbService('who-local', 8082, 'Local', 'who'),
    ]);
    await waitFor(
      async () => (await kubectl('get', 'pod', 'who-1', '-o', 'jsonpath={.status.phase}')).trim() === 'Running',
      {
        what: 'who-1 Running on node-1',
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    await waitFor(async () => ingress(await getService('who-cluster')) === `${node1},${node2}`, {
      what: 'who-cluster announced on both node addresses',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    await waitFor(async () => ingress(await getService('who-local')) === node1, {
      what: 'who-local announced on node-1 only (its endpoint lives there)',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const wide = await kubectl('get', 'service', 'who-cluster');
    t.regex(
      wide,
      new RegExp(`${node1.replaceAll('.', '\\.')},${node2.replaceAll('.', '\\.')}`),
      'kubectl shows the EXTERNAL-IP',
    );

    for (const address of [node1, node2]) {
      const answer = await waitFor(
        async () => {
          const r = await curlFromHub(hub(), `http://${address}:8081/cgi-bin/who`);
          return r.status === 200 && r.body !== '' && r.body;
        },
        { what: `who-cluster answering on ${address}:8081`, timeoutMs: 60_000, intervalMs: 250 },
      );
      t.true(answer.startsWith('node-1 '), JSON.stringify(answer));
      // Cluster policy: the pod sees a node address, never the client's
      t.not(answer.split(' ')[1], sandboxAddresses.hubIP, `masqueraded on ${address}`);
    }

    const local = await waitFor(
      async () => {
        const r = await curlFromHub(hub(), `http://${node1}:8082/cgi-bin/who`);
        return r.status === 200 && r.body !== '' && r.body;
      },
      { what: `who-local answering on ${node1}:8082`, timeoutMs: 60_000, intervalMs: 250 },
    );
    t.is(local, `node-1 ${sandboxAddresses.hubIP}`, 'Local policy: the pod sees the client address');
    const elsewhere = await curlFromHub(hub(), `http://${node2}:8082/cgi-bin/who`, 2);
    t.is(elsewhere.status, 0, 'node-2 has no endpoint of who-local: the packet is dropped');

    const healthPort = (await getService('who-local')).spec.healthCheckNodePort;
    t.true((healthPort ?? 0) >= 30000);
    const health = async (address: string) => (await curlFromHub(hub(), `http://${address}:${healthPort}/`)).status;
    await waitFor(async () => (await health(node1)) === 200, {
      what: 'healthCheckNodePort 200 on node-1',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    t.is(await health(node2), 503, 'healthCheckNodePort 503 on node-2');
  },
);
