/**
 * Pod admission, as the kubelet does it before it starts a pod the scheduler (or a user setting
 * spec.nodeName) sent here: the node must still fit the pod — its selector and required node
 * affinity, its host ports, its requests next to the pods already admitted, and the node's
 * NoExecute taints. A pod that fails is never started; it gets phase Failed with the reason.
 *
 * Pure. Only NoExecute taints count: NoSchedule ones are the scheduler's business, and a pod
 * that names the node itself is allowed past them, as upstream allows it.
 *
 * Reasons are the kubelet's (OutOfcpu, OutOfmemory, OutOfpods, NodeAffinity, NodePorts) because
 * operators search for them.
 */
import type {
  Container,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  Pod,
  Taint,
  Toleration,
} from '../../kube/corev1.ts';
import { resourceAmount } from '../../kube/quantity.ts';
import { isSidecar } from './pod-containers.ts';
import { qosClassOf } from './qos.ts';

export interface AdmissionNode {
  name: string;
  labels: Readonly<Record<string, string>>;
  taints: readonly Taint[];
  /** Millicores, bytes and a pod count. */
  allocatable: { cpu: number; memory: number; pods: number };
  /** The node's pressure conditions as its eviction manager sees them now. */
  pressure?: { memory: boolean; disk: boolean };
}

export type Admission = { admit: true } | { admit: false; reason: string; message: string };

function request(container: Container, resource: 'cpu' | 'memory'): number {
  const value = container.resources?.requests?.[resource];
  return value === undefined ? 0 : resourceAmount(resource, value);
}

/**
 * What a pod holds while it runs: its main containers and sidecars together, or, if larger, what
 * an init container needs next to the sidecars started before it (init containers run one at a time).
 */
export function podRequest(pod: Pod, resource: 'cpu' | 'memory'): number {
  let sidecarsSoFar = 0;
  let initPeak = 0;
  for (const init of pod.spec.initContainers ?? []) {
    if (isSidecar(init)) sidecarsSoFar += request(init, resource);
    else initPeak = Math.max(initPeak, sidecarsSoFar + request(init, resource));
  }
  const running = sidecarsSoFar + pod.spec.containers.reduce((sum, c) => sum + request(c, resource), 0);
  const overhead = pod.spec.overhead?.[resource];
  return Math.max(running, initPeak) + (overhead === undefined ? 0 : resourceAmount(resource, overhead));
}

function requirementHolds(requirement: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = requirement.values ?? [];
  const asInteger = (text: string | undefined) =>
    text !== undefined && /^-?\d+$/.test(text) ? Number(text) : undefined;
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const [have, bound] = [asInteger(value), asInteger(values[0])];
      if (have === undefined || bound === undefined) return false;
      return requirement.operator === 'Gt' ? have > bound : have < bound;
    }
    default:
      return false;
  }
}

function termSelects(term: NodeSelectorTerm, node: AdmissionNode): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  return (
    expressions.every((r) => requirementHolds(r, Object.hasOwn(node.labels, r.key) ? node.labels[r.key] : undefined)) &&
    fields.every((r) => requirementHolds(r, r.key === 'metadata.name' ? node.name : undefined))
  );
}

function nodeFitsSelector(pod: Pod, node: AdmissionNode): boolean {
  if (Object.entries(pod.spec.nodeSelector ?? {}).some(([key, value]) => node.labels[key] !== value)) return false;
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return required === undefined || required.nodeSelectorTerms.some((term) => termSelects(term, node));
}

function covers(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return !!toleration.key && toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

function hostPorts(pod: Pod): string[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers]
    .flatMap((c) => c.ports ?? [])
    .filter((p) => (p.hostPort ?? 0) > 0)
    .map((p) => `${p.protocol ?? 'TCP'}/${p.hostPort}`);
}

/** `admitted`: the pods this node already runs (not finished), without `pod` itself. */
/**
 * Upstream's eviction admission: under DiskPressure no pod is admitted; under MemoryPressure no
 * BestEffort pod, unless it tolerates the memory-pressure taint. Critical pods pass regardless.
 */
function pressureRefuses(pod: Pod, node: AdmissionNode): Admission | undefined {
  if (pod.spec.priority !== undefined && pod.spec.priority >= 2_000_000_000) return undefined;
  const refuse = (condition: string): Admission => ({
    admit: false,
    reason: 'Evicted',
    message: `The node had condition: [${condition}]. `,
  });
  if (node.pressure?.disk) return refuse('DiskPressure');
  if (node.pressure?.memory && qosClassOf(pod.spec) === 'BestEffort') {
    const taint: Taint = { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' };
    if (!(pod.spec.tolerations ?? []).some((t) => covers(t, taint))) return refuse('MemoryPressure');
  }
  return undefined;
}

export function admitPod(pod: Pod, node: AdmissionNode, admitted: readonly Pod[]): Admission {
  const pressure = pressureRefuses(pod, node);
  if (pressure !== undefined) return pressure;
  if (!nodeFitsSelector(pod, node)) {
    return {
      admit: false,
      reason: 'NodeAffinity',
      message: `Predicate NodeAffinity failed: node ${node.name} does not match the pod's node selector or required node affinity`,
    };
  }
  const taint = node.taints.find(
    (t) => t.effect === 'NoExecute' && !(pod.spec.tolerations ?? []).some((tol) => covers(tol, t)),
  );
  if (taint !== undefined) {
    return {
      admit: false,
      reason: 'TaintToleration',
      message: `Predicate TaintToleration failed: node ${node.name} has taint {${taint.key}: ${taint.value ?? ''}}:NoExecute that the pod does not tolerate`,
    };
  }
  const used = new Set(admitted.flatMap(hostPorts));
  const clash = hostPorts(pod).find((p) => used.has(p));
  if (clash !== undefined) {
    return {
      admit: false,
      reason: 'NodePorts',
      message: `Predicate NodePorts failed: host port ${clash} is taken by another pod on node ${node.name}`,
    };
  }
  if (admitted.length + 1 > node.allocatable.pods) {
    return {
      admit: false,
      reason: 'OutOfpods',
      message: `Node didn't have enough resource: pods, requested: 1, used: ${admitted.length}, capacity: ${node.allocatable.pods}`,
    };
  }
  for (const resource of ['cpu', 'memory'] as const) {
    const wanted = podRequest(pod, resource);
    if (wanted === 0) continue;
    const inUse = admitted.reduce((sum, p) => sum + podRequest(p, resource), 0);
    if (inUse + wanted > node.allocatable[resource]) {
      return {
        admit: false,
        reason: `OutOf${resource}`,
        message: `Node didn't have enough resource: ${resource}, requested: ${wanted}, used: ${inUse}, capacity: ${node.allocatable[resource]}`,
      };
    }
  }
  return { admit: true };
}
