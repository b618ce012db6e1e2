/**
 * A small cluster for the resource metrics API, in a test file's shared in-process server: two
 * nodes (zone east and west) whose stand-in kubelets measure three pods in two namespaces, and a
 * fourth pod no kubelet measures; made once, by whichever test comes first, and ready once the
 * API shows every measured node and pod. Its server scrapes every 2.5 s: with less, a kubelet's
 * 90 % of it to answer is short enough on a busy machine to lose a node for a round.
 */
import type { TestFn } from 'ava';
import { adminCalls } from '../admin-calls.ts';
import type { InProcessServer } from '../in-process.ts';
import { waitFor } from '../ports.ts';
import { startMetricsKubelet, type MetricsKubelet } from './metrics-kubelet.ts';

const gib = 1024 * 1024 * 1024;

export function metricsCluster(test: TestFn, shared: { server(): InProcessServer }) {
  const api = adminCalls(shared);
  const kubelets = new Map<string, MetricsKubelet>();

  function nodeObject(name: string, port: number, labels: Record<string, string>) {
    return {
      metadata: { name, labels },
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: port } },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready' }],
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      },
    };
  }

  function podObject(name: string, node: string, labels: Record<string, string>, containers: string[]) {
    return {
      metadata: { name, labels },
      spec: { nodeName: node, containers: containers.map((c) => ({ name: c, image: 'busybox' })) },
    };
  }

  async function addNode(name: string, labels: Record<string, string>): Promise<MetricsKubelet> {
    const kubelet = await startMetricsKubelet(shared.server().dataDir, name);
    kubelets.set(name, kubelet);
    await api.sendOk('POST', '/api/v1/nodes', nodeObject(name, kubelet.port, labels));
    return kubelet;
  }

  async function populate(): Promise<void> {
    for (const ns of ['shop', 'office']) await api.sendOk('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    const a = await addNode('node-a', { zone: 'east' });
    const b = await addNode('node-b', { zone: 'west' });
    a.node = { cores: 0.5, memoryBytes: 2 * gib };
    b.node = { cores: 1.5, memoryBytes: 3 * gib };
    a.pods = [
      {
        namespace: 'shop',
        name: 'web',
        containers: [
          { name: 'app', cores: 0.25, memoryBytes: 64 * 1024 * 1024 },
          { name: 'sidecar', cores: 0.05, memoryBytes: 16 * 1024 * 1024 },
        ],
      },
      { namespace: 'office', name: 'desk', containers: [{ name: 'main', cores: 0.1, memoryBytes: 32 * 1024 * 1024 }] },
    ];
    b.pods = [{ namespace: 'shop', name: 'db', containers: [{ name: 'db', cores: 1, memoryBytes: gib }] }];
    await api.sendOk(
      'POST',
      '/api/v1/namespaces/shop/pods',
      podObject('web', 'node-a', { app: 'web' }, ['app', 'sidecar']),
    );
    await api.sendOk('POST', '/api/v1/namespaces/shop/pods', podObject('db', 'node-b', { app: 'db' }, ['db']));
    await api.sendOk('POST', '/api/v1/namespaces/office/pods', podObject('desk', 'node-a', { app: 'desk' }, ['main']));
    // a pod that no kubelet measures
    await api.sendOk('POST', '/api/v1/namespaces/shop/pods', podObject('quiet', 'node-b', { app: 'quiet' }, ['q']));
    await waitFor(
      'metrics of both nodes and three pods',
      async () => {
        const nodes = await api.send('GET', '/apis/metrics.k8s.io/v1beta1/nodes');
        const pods = await api.send('GET', '/apis/metrics.k8s.io/v1beta1/pods');
        return nodes.body?.items?.length === 2 && pods.body?.items?.length === 3;
      },
      20_000,
    );
  }

  /** Nodes, pods and their kubelets, made once by whichever test comes first (hooks run beside sharedInProcess's). */
  let populated: Promise<void> | undefined;
  const cluster = () => (populated ??= populate());

  test.after.always(async () => {
    for (const kubelet of kubelets.values()) await kubelet.close();
  });
  return { ready: cluster, kubelets };
}

/** A CPU quantity in cores: "250m" → 0.25, "1234n" → 0.000001234. */
export function cores(quantity: string): number {
  const m = /^(\d+)([num]?)$/.exec(quantity);
  if (!m) throw new Error(`not a CPU quantity: ${quantity}`);
  return Number(m[1]) / ({ n: 1e9, u: 1e6, m: 1e3, '': 1 } as Record<string, number>)[m[2]!]!;
}
