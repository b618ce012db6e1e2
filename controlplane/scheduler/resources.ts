/**
 * What a pod asks for and what a node offers, as numbers the fit check and the scores can add up:
 * CPU in millicores, everything else in whole units (bytes, pods, extended resources).
 */
import type { Container, Node, Pod, ResourceList } from '../../kube/corev1.ts';
import { resourceAmount } from '../../kube/quantity.ts';

/** resource name → amount (cpu in millicores). */
export type Amounts = Map<string, number>;

function amountsOf(list: ResourceList | undefined): Amounts {
  const out: Amounts = new Map();
  for (const [name, value] of Object.entries(list ?? {})) out.set(name, resourceAmount(name, value));
  return out;
}

function addInto(target: Amounts, extra: Amounts): void {
  for (const [name, value] of extra) target.set(name, (target.get(name) ?? 0) + value);
}

function maxInto(target: Amounts, other: Amounts): void {
  for (const [name, value] of other) target.set(name, Math.max(target.get(name) ?? 0, value));
}

function containerRequests(container: Container): Amounts {
  return amountsOf(container.resources?.requests);
}

/**
 * The pod's effective request, as the scheduler and the kubelet's admission see it: the app
 * containers and the native sidecars run side by side, so they add up; each ordinary init container
 * runs alone next to the sidecars started before it, so only the largest such moment counts; the
 * runtime's pod overhead comes on top.
 */
export function podRequests(pod: Pod): Amounts {
  const total: Amounts = new Map();
  for (const container of pod.spec.containers) addInto(total, containerRequests(container));
  const sidecarsSoFar: Amounts = new Map();
  const initPeak: Amounts = new Map();
  for (const init of pod.spec.initContainers ?? []) {
    const own = containerRequests(init);
    if (init.restartPolicy === 'Always') {
      addInto(sidecarsSoFar, own);
      addInto(total, own);
      continue;
    }
    const moment: Amounts = new Map(sidecarsSoFar);
    addInto(moment, own);
    maxInto(initPeak, moment);
  }
  maxInto(total, initPeak);
  addInto(total, amountsOf(pod.spec.overhead));
  return total;
}

/**
 * Scores treat a container that requests nothing as if it asked for a little (100m, 200 MiB),
 * so that best-effort pods still spread instead of piling onto one node that looks empty.
 */
const defaultMilliCpuForScoring = 100;
const defaultMemoryForScoring = 200 * 1024 * 1024;

export function podRequestsForScoring(pod: Pod): { milliCpu: number; memory: number } {
  let milliCpu = 0;
  let memory = 0;
  for (const container of pod.spec.containers) {
    const requests = containerRequests(container);
    milliCpu += requests.get('cpu') ?? defaultMilliCpuForScoring;
    memory += requests.get('memory') ?? defaultMemoryForScoring;
  }
  return { milliCpu, memory };
}

/** Allocatable, or capacity when a node reports no allocatable (older agents). */
export function nodeAllocatable(node: Node): Amounts {
  return amountsOf(node.status?.allocatable ?? node.status?.capacity);
}
