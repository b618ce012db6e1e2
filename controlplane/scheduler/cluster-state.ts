/**
 * The scheduler's picture of the cluster: every node with the pods bound (or assumed) to it and
 * running totals of what those pods request, kept up to date incrementally so that one scheduling
 * decision costs O(nodes), not O(pods). Pods may arrive before their node; their totals wait in a
 * node entry without a Node object, which scheduling skips.
 */
import type { ContainerPort, Node, Pod, Taint } from '../../kube/corev1.ts';
import { podAntiAffinityTerms } from './inter-pod-affinity.ts';
import { nodeAllocatable, podRequests, podRequestsForScoring, type Amounts } from './resources.ts';
import { schedulingTaints } from './taints.ts';
import type { StorageView } from './volume-binding.ts';

interface HostPortUse {
  readonly ip: string;
  readonly protocol: string;
  readonly port: number;
}

export interface NodeInfo {
  readonly name: string;
  node: Node | undefined;
  taints: Taint[];
  allocatable: Amounts;
  /** Sum of the requests of the pods here, by resource. */
  readonly requested: Amounts;
  /** Sum of requests with the scoring defaults for containers that request nothing. */
  readonly scoringRequested: { milliCpu: number; memory: number };
  readonly pods: Map<string, Pod>;
  readonly hostPorts: HostPortUse[];
  /** Pods here per controlling owner uid, for spreading. */
  readonly ownerCounts: Map<string, number>;
  /** How many pods here carry required anti-affinity terms (most nodes: none, which skips work). */
  podsWithAntiAffinity: number;
}

export function podKey(pod: Pod): string {
  return pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
}

export function controllerUid(pod: Pod): string | undefined {
  return pod.metadata.ownerReferences?.find((ref) => ref.controller === true)?.uid;
}

export function hostPortsOf(pod: Pod): HostPortUse[] {
  const uses: HostPortUse[] = [];
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  for (const container of containers) {
    for (const port of container.ports ?? ([] as ContainerPort[])) {
      if (port.hostPort === undefined || port.hostPort <= 0) continue;
      uses.push({ ip: port.hostIP || '0.0.0.0', protocol: port.protocol ?? 'TCP', port: port.hostPort });
    }
  }
  return uses;
}

function emptyNodeInfo(name: string): NodeInfo {
  return {
    name,
    node: undefined,
    taints: [],
    allocatable: new Map(),
    requested: new Map(),
    scoringRequested: { milliCpu: 0, memory: 0 },
    pods: new Map(),
    hostPorts: [],
    ownerCounts: new Map(),
    podsWithAntiAffinity: 0,
  };
}

function account(info: NodeInfo, pod: Pod, sign: 1 | -1): void {
  for (const [name, amount] of podRequests(pod))
    info.requested.set(name, (info.requested.get(name) ?? 0) + sign * amount);
  const scoring = podRequestsForScoring(pod);
  info.scoringRequested.milliCpu += sign * scoring.milliCpu;
  info.scoringRequested.memory += sign * scoring.memory;
  const owner = controllerUid(pod);
  if (owner !== undefined) {
    const next = (info.ownerCounts.get(owner) ?? 0) + sign;
    if (next <= 0) info.ownerCounts.delete(owner);
    else info.ownerCounts.set(owner, next);
  }
  if (podAntiAffinityTerms(pod).length > 0) info.podsWithAntiAffinity += sign;
  if (sign === 1) info.hostPorts.push(...hostPortsOf(pod));
  else {
    for (const use of hostPortsOf(pod)) {
      const index = info.hostPorts.findIndex(
        (u) => u.ip === use.ip && u.protocol === use.protocol && u.port === use.port,
      );
      if (index >= 0) info.hostPorts.splice(index, 1);
    }
  }
}

/** Whether a pod still holds resources on its node: terminal pods have given theirs back. */
export function holdsResources(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

export class ClusterState {
  /** Claims, volumes and classes, when the scheduler watches them (the VolumeBinding filter reads them). */
  storage: StorageView | undefined;
  readonly #nodes = new Map<string, NodeInfo>();
  /** pod key → node name, for every pod counted somewhere. */
  readonly #placement = new Map<string, string>();
  #podsWithAntiAffinity = 0;
  /** schedulableNodes' answer until a node comes or goes (sorting 1,000 names per pod showed in profiles). */
  #sorted: readonly NodeInfo[] | undefined;

  #entry(name: string): NodeInfo {
    let info = this.#nodes.get(name);
    if (info === undefined) {
      info = emptyNodeInfo(name);
      this.#nodes.set(name, info);
    }
    return info;
  }

  setNode(node: Node): void {
    const info = this.#entry(node.metadata.name ?? '');
    if (info.node === undefined) this.#sorted = undefined;
    info.node = node;
    info.taints = schedulingTaints(node);
    info.allocatable = nodeAllocatable(node);
  }

  removeNode(name: string): void {
    const info = this.#nodes.get(name);
    if (info === undefined) return;
    if (info.node !== undefined) this.#sorted = undefined;
    if (info.pods.size === 0) this.#nodes.delete(name);
    else info.node = undefined;
  }

  /** Counts `pod` on `nodeName` (replacing whatever was counted for it before). */
  setPod(pod: Pod, nodeName: string): void {
    this.removePod(podKey(pod));
    const info = this.#entry(nodeName);
    info.pods.set(podKey(pod), pod);
    account(info, pod, 1);
    this.#placement.set(podKey(pod), nodeName);
    if (podAntiAffinityTerms(pod).length > 0) this.#podsWithAntiAffinity++;
  }

  removePod(key: string): void {
    const nodeName = this.#placement.get(key);
    if (nodeName === undefined) return;
    this.#placement.delete(key);
    const info = this.#nodes.get(nodeName);
    const pod = info?.pods.get(key);
    if (info === undefined || pod === undefined) return;
    info.pods.delete(key);
    account(info, pod, -1);
    if (podAntiAffinityTerms(pod).length > 0) this.#podsWithAntiAffinity--;
    if (info.node === undefined && info.pods.size === 0) this.#nodes.delete(nodeName);
  }

  nodeOf(key: string): string | undefined {
    return this.#placement.get(key);
  }

  /** Nodes that exist, in name order so that decisions do not depend on arrival order. */
  schedulableNodes(): readonly NodeInfo[] {
    this.#sorted ??= [...this.#nodes.values()]
      .filter((info) => info.node !== undefined)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.#sorted;
  }

  nodeCount(): number {
    let count = 0;
    for (const info of this.#nodes.values()) if (info.node !== undefined) count++;
    return count;
  }

  anyPodHasAntiAffinity(): boolean {
    return this.#podsWithAntiAffinity > 0;
  }
}
