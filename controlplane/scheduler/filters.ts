/**
 * Filters: can this pod run on this node at all? Each returns the reasons it says no (none means
 * yes). They run in kube-scheduler's order and a node stops at the first filter that refuses it, so
 * the failure message counts one filter's reasons per node, as upstream does. The reason strings
 * are kube-scheduler's, because operators search for them.
 */
import type { Pod } from '../../kube/corev1.ts';
import type { NodeInfo } from './cluster-state.ts';
import { hostPortsOf } from './cluster-state.ts';
import { nodeMatchesPodRequirements } from './node-affinity.ts';
import { interPodVerdict, type InterPodDomains } from './inter-pod-affinity.ts';
import type { Amounts } from './resources.ts';
import { firstUntoleratedTaint, toleratedByAny, unschedulableTaintKey } from './taints.ts';
import { spreadRefusal, type SpreadContext } from './topology-spread.ts';
import { volumeRefusal, type PodVolumes, type StorageView } from './volume-binding.ts';

const reasons = {
  unschedulable: 'node(s) were unschedulable',
  affinity: "node(s) didn't match Pod's node affinity/selector",
  ports: "node(s) didn't have free ports for the requested pod ports",
  tooManyPods: 'Too many pods',
  insufficient: (resource: string) => `Insufficient ${resource}`,
  untoleratedTaint: (key: string, value: string | undefined) =>
    `node(s) had untolerated taint {${key}: ${value ?? ''}}`,
  antiAffinity: "node(s) didn't match pod anti-affinity rules",
  podAffinity: "node(s) didn't match pod affinity rules",
  existingAntiAffinity: "node(s) didn't satisfy existing pods anti-affinity rules",
} as const;

/** What is computed once per pod and shared by every node's check. */
export interface PodContext {
  readonly pod: Pod;
  readonly requests: Amounts;
  readonly domains: InterPodDomains;
  /** The pod's DoNotSchedule topology spread constraints, counted (empty: none). */
  readonly spread?: SpreadContext;
  /** The pod's claims, as the VolumeBinding filter reads them (absent: none). */
  readonly volumes?: PodVolumes;
  readonly storage?: StorageView | undefined;
}

export interface Filter {
  readonly name: string;
  readonly check: (context: PodContext, node: NodeInfo) => string[];
}

const nodeUnschedulable: Filter = {
  name: 'NodeUnschedulable',
  check: ({ pod }, info) => {
    if (info.node?.spec?.unschedulable !== true) return [];
    return toleratedByAny(pod.spec.tolerations, { key: unschedulableTaintKey, effect: 'NoSchedule' })
      ? []
      : [reasons.unschedulable];
  },
};

const taintToleration: Filter = {
  name: 'TaintToleration',
  check: ({ pod }, info) => {
    const taint = firstUntoleratedTaint(info.taints, pod.spec.tolerations, ['NoSchedule', 'NoExecute']);
    return taint === undefined ? [] : [reasons.untoleratedTaint(taint.key, taint.value)];
  },
};

const nodeAffinity: Filter = {
  name: 'NodeAffinity',
  check: ({ pod }, info) => (nodeMatchesPodRequirements(pod, info.node!) ? [] : [reasons.affinity]),
};

const nodePorts: Filter = {
  name: 'NodePorts',
  check: ({ pod }, info) => {
    if (info.hostPorts.length === 0) return [];
    for (const wanted of hostPortsOf(pod)) {
      const clash = info.hostPorts.some(
        (used) =>
          used.port === wanted.port &&
          used.protocol === wanted.protocol &&
          (used.ip === wanted.ip || used.ip === '0.0.0.0' || wanted.ip === '0.0.0.0'),
      );
      if (clash) return [reasons.ports];
    }
    return [];
  },
};

/** Resources in a fixed order so that a node short of several lists them predictably. */
const wellKnownResources = ['cpu', 'memory', 'ephemeral-storage'];

/** The resources a pod's requests name, in reporting order; one list per pod, not per node. */
const checkedResources = new WeakMap<Amounts, readonly string[]>();
function resourcesToCheck(requests: Amounts): readonly string[] {
  let names = checkedResources.get(requests);
  if (names === undefined) {
    names = [
      ...wellKnownResources,
      ...[...requests.keys()].filter((n) => !wellKnownResources.includes(n) && n !== 'pods').sort(),
    ];
    checkedResources.set(requests, names);
  }
  return names;
}

const nodeResourcesFit: Filter = {
  name: 'NodeResourcesFit',
  check: ({ requests }, info) => {
    const out: string[] = [];
    const allowedPods = info.allocatable.get('pods') ?? 0;
    if (info.pods.size + 1 > allowedPods) out.push(reasons.tooManyPods);
    const names = resourcesToCheck(requests);
    for (const name of names) {
      const wanted = requests.get(name) ?? 0;
      if (wanted <= 0) continue;
      const free = (info.allocatable.get(name) ?? 0) - (info.requested.get(name) ?? 0);
      if (wanted > free) out.push(reasons.insufficient(name));
    }
    return out;
  },
};

const volumeBinding: Filter = {
  name: 'VolumeBinding',
  check: ({ volumes, storage }, info) =>
    volumes === undefined ? [] : volumeRefusal(volumes, info.node!, storage, info.allocatable),
};

const podTopologySpread: Filter = {
  name: 'PodTopologySpread',
  check: ({ spread }, info) => (spread && spread.length > 0 ? spreadRefusal(spread, info.node!) : []),
};

const interPodAffinity: Filter = {
  name: 'InterPodAffinity',
  check: ({ domains }, info) => {
    switch (interPodVerdict(info.node!, domains)) {
      case 'existing-pods-anti-affinity':
        return [reasons.existingAntiAffinity];
      case 'affinity':
        return [reasons.podAffinity];
      case 'anti-affinity':
        return [reasons.antiAffinity];
      case 'fits':
        return [];
    }
  },
};

export const defaultFilters: readonly Filter[] = [
  nodeUnschedulable,
  taintToleration,
  nodeAffinity,
  nodePorts,
  nodeResourcesFit,
  volumeBinding,
  podTopologySpread,
  interPodAffinity,
];

/** The reasons of the first filter that refuses the node; empty when the pod fits. */
export function firstRefusal(
  context: PodContext,
  info: NodeInfo,
  filters: readonly Filter[] = defaultFilters,
): string[] {
  for (const filter of filters) {
    const refusal = filter.check(context, info);
    if (refusal.length > 0) return refusal;
  }
  return [];
}
