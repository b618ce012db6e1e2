/**
 * Small builders for scheduler tests. Conventions: nodes are "node-a", "node-b", ... with 4 CPUs,
 * 8 GiB and room for 110 pods unless a test says otherwise; pods live in namespace "default".
 */
import type { Container, Node, NodeCondition, Pod, Taint, Toleration } from '../../../kube/corev1.ts';
import { ClusterState, holdsResources } from '../../../controlplane/scheduler/cluster-state.ts';

interface NodeShape {
  cpu?: string;
  memory?: string;
  pods?: string;
  ephemeral?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  ready?: NodeCondition['status'] | 'absent';
  unschedulable?: boolean;
}

export function node(name: string, shape: NodeShape = {}): Node {
  const conditions: NodeCondition[] =
    shape.ready === 'absent' ? [] : [{ type: 'Ready', status: shape.ready ?? 'True' }];
  return {
    metadata: { name, uid: `uid-${name}`, labels: { 'kubernetes.io/hostname': name, ...shape.labels } },
    spec: {
      ...(shape.taints ? { taints: shape.taints } : {}),
      ...(shape.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      allocatable: {
        cpu: shape.cpu ?? '4',
        memory: shape.memory ?? '8Gi',
        pods: shape.pods ?? '110',
        'ephemeral-storage': shape.ephemeral ?? '100Gi',
      },
      conditions,
    },
  };
}

interface PodShape {
  cpu?: string;
  memory?: string;
  ephemeral?: string;
  nodeName?: string;
  labels?: Record<string, string>;
  tolerations?: Toleration[];
  nodeSelector?: Record<string, string>;
  affinity?: Pod['spec']['affinity'];
  hostPorts?: number[];
  owner?: string;
  containers?: Container[];
  initContainers?: Container[];
  namespace?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
}

export function pod(name: string, shape: PodShape = {}): Pod {
  const requests: Record<string, string> = {};
  if (shape.cpu) requests.cpu = shape.cpu;
  if (shape.memory) requests.memory = shape.memory;
  if (shape.ephemeral) requests['ephemeral-storage'] = shape.ephemeral;
  const container: Container = {
    name: 'app',
    image: 'busybox',
    ...(Object.keys(requests).length > 0 ? { resources: { requests } } : {}),
    ...(shape.hostPorts ? { ports: shape.hostPorts.map((p) => ({ containerPort: p, hostPort: p })) } : {}),
  };
  return {
    metadata: {
      name,
      namespace: shape.namespace ?? 'default',
      uid: `uid-${name}`,
      labels: shape.labels ?? {},
      ...(shape.owner
        ? {
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: shape.owner,
                uid: `uid-${shape.owner}`,
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      containers: shape.containers ?? [container],
      ...(shape.initContainers ? { initContainers: shape.initContainers } : {}),
      ...(shape.nodeName ? { nodeName: shape.nodeName } : {}),
      ...(shape.tolerations ? { tolerations: shape.tolerations } : {}),
      ...(shape.nodeSelector ? { nodeSelector: shape.nodeSelector } : {}),
      ...(shape.affinity ? { affinity: shape.affinity } : {}),
    },
    status: { phase: shape.phase ?? (shape.nodeName ? 'Running' : 'Pending') },
  };
}

/** A cluster of these nodes with these pods bound where their nodeName says. */
export function cluster(nodes: Node[], pods: Pod[] = []): ClusterState {
  const state = new ClusterState();
  for (const n of nodes) state.setNode(n);
  for (const p of pods) if (p.spec.nodeName && holdsResources(p)) state.setPod(p, p.spec.nodeName);
  return state;
}

export function taint(key: string, effect: Taint['effect'], value?: string): Taint {
  return value === undefined ? { key, effect } : { key, value, effect };
}
