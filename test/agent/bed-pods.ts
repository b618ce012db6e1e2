/**
 * The agent's pod machinery for one test-bed node, fed by a real API server: a PodManager on the
 * node's containerd and an informer on the pods bound to the node (fieldSelector spec.nodeName),
 * as the agent wires them. `config` is how the node reads Secrets and ConfigMaps.
 */
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { BedNode } from '../bed/index.ts';
import { CriClient } from '../../cri/client.ts';
import type { KubeClient } from '../../kube/client.ts';
import { apiListWatch, Informer } from '../../kube/informer.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { Pod } from '../../kube/corev1.ts';
import { systemClock } from '../../kube/clock.ts';
import { ImagePuller } from '../../agent/pods/image-puller.ts';
import { PodManager } from '../../agent/pods/pod-manager.ts';
import { kubePodApi } from '../../agent/pods/kube-pod-api.ts';
import type { ConfigLookup } from '../../agent/pods/pod-executor.ts';
import { defaultClusterDNS } from '../../agent/pods/node-settings.ts';
import { bedNetwork } from './bed-network.ts';

export interface BedPods {
  readonly cri: CriClient;
  readonly manager: PodManager;
  readonly informer: Informer<Pod>;
  close(): void;
}

export async function startBedPods(
  node: BedNode,
  client: KubeClient,
  config: ConfigLookup,
  log?: Logger,
): Promise<BedPods> {
  const cri = new CriClient(node.criEndpoint);
  const manager = new PodManager({
    runtime: cri,
    settings: {
      nodeName: node.name,
      nodeIP: node.ip,
      podLogRoot: node.podLogDir,
      podsDir: join(node.stateDir, 'agent-pods'),
      clusterDNS: [defaultClusterDNS],
      clusterDomain: 'cluster.local',
      hostDns: { servers: [], searches: [], options: [] },
      cgroupRoot: undefined,
      cgroupDriver: 'cgroupfs',
      runtimeName: 'containerd',
      allocatable: { cpuMilli: 2000, memoryBytes: 2 * 2 ** 30 },
      hostPathAllowList: [],
    },
    images: new ImagePuller(cri),
    network: bedNetwork(node),
    clock: systemClock,
    config,
    log: log ?? pino({ level: process.env.BOSUN_TEST_LOG ?? 'silent' }),
    agentStartedAt: Date.now() - 3_600_000,
    resyncMs: 500,
    api: kubePodApi(client),
  });
  const informer = new Informer<Pod>(apiListWatch(client, refs.pods, { fieldSelector: `spec.nodeName=${node.name}` }));
  informer.addHandlers({
    onAdd: (pod) => manager.upsert(pod),
    onUpdate: (_previous, pod) => manager.upsert(pod),
    onDelete: (pod) => void manager.remove(pod),
  });
  void informer.run();
  await informer.synced;
  return {
    cri,
    manager,
    informer,
    close: () => {
      informer.stop();
      manager.close();
      cri.close();
    },
  };
}
