/**
 * Stand-in kubelet ports for `bench/resource-metrics.ts`, in a process of their own so that their
 * TLS and text work does not slow the bench's API client: `node stand-in-kubelets.ts <dataDir>
 * <nodes> <podsPerNode>` starts them, prints one JSON line with every node's port, and runs until
 * stdin closes.
 */
import {
  kubeletServing,
  startMetricsKubelet,
  type MetricsKubelet,
} from '../../test/controlplane/metrics/metrics-kubelet.ts';

const [dataDir = '', nodesText = '0', podsText = '0'] = process.argv.slice(2);
const nodeCount = Number(nodesText);
const podsPerNode = Number(podsText);
const serving = kubeletServing(dataDir, 'bench');
const kubelets: MetricsKubelet[] = [];
const ports: Record<string, number> = {};
for (let i = 0; i < nodeCount; i++) {
  const name = `node-${String(i).padStart(4, '0')}`;
  const kubelet = await startMetricsKubelet(dataDir, name, serving);
  // plausible numbers: a node busy with half a core to two and a half, 2-8 GiB in use; each
  // container 50-450 millicores and 32-512 MiB
  kubelet.node = { cores: 0.5 + Math.random() * 2, memoryBytes: (2 + Math.floor(Math.random() * 6)) * 1024 ** 3 };
  kubelet.pods = Array.from({ length: podsPerNode }, (_, p) => ({
    namespace: 'default',
    name: `${name}-pod-${p}`,
    containers: [
      { name: 'app', cores: 0.05 + Math.random() * 0.4, memoryBytes: (32 + Math.floor(Math.random() * 480)) << 20 },
    ],
  }));
  kubelets.push(kubelet);
  ports[name] = kubelet.port;
}
process.stdout.write(`${JSON.stringify({ ports })}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  process.stdout.write(`${JSON.stringify({ scrapedAt: kubelets.map((k) => k.scrapedAt) })}\n`);
  for (const kubelet of kubelets) await kubelet.close();
  process.exit(0);
});
