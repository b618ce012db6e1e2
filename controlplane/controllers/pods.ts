/**
 * Facts about pods that several controllers need: whether a pod still counts, whether it is
 * ready (and available after minReadySeconds), who controls it, and how to build one from a
 * template with a controller reference.
 */
import type { Pod } from '../../kube/corev1.ts';
import type { KubeObject, OwnerReference } from '../../kube/types.ts';
import type { PodTemplateSpec } from './workload-types.ts';

/** Not finished and not being deleted: the pods a controller counts towards its replicas. */
export function isActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata.deletionTimestamp === undefined;
}

export function readyCondition(pod: Pod) {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True';
}

/** Ready for at least minReadySeconds (by the Ready condition's transition time). */
export function isAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  const ready = readyCondition(pod);
  if (ready?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : NaN;
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now.getTime();
}

/** When a pod not yet available becomes available, if it is ready now (for requeueing). */
export function availableAt(pod: Pod, minReadySeconds: number): number | undefined {
  const ready = readyCondition(pod);
  if (ready?.status !== 'True' || !ready.lastTransitionTime) return undefined;
  return Date.parse(ready.lastTransitionTime) + minReadySeconds * 1000;
}

export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

export function controllerReference(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A new pod object from a template, owned by `owner`, named by the API from `generateName`. */
export function podFromTemplate(
  template: PodTemplateSpec,
  owner: KubeObject,
  extraLabels: Record<string, string> = {},
  name?: string,
): Pod {
  const metadata: Pod['metadata'] = {
    ...(name !== undefined ? { name } : { generateName: `${owner.metadata.name}-` }),
    namespace: owner.metadata.namespace,
    labels: { ...template.metadata?.labels, ...extraLabels },
    ownerReferences: [controllerReference(owner)],
  };
  if (template.metadata?.annotations) metadata.annotations = { ...template.metadata.annotations };
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: structuredClone(template.spec) };
}

export function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Date.parse(text);
  return Number.isFinite(value) ? value : undefined;
}

export function restartCount(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
}

/**
 * The order in which surplus pods go, first to last: not yet on a node, then Pending, Unknown and
 * Running; not ready before ready; ready for a shorter time first; more restarts first; newer first.
 * Pods that are cheap to lose (never started, not serving) are deleted before pods doing work.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const phaseRank = (p: Pod) =>
    (({ Pending: 0, Unknown: 1, Running: 2 }) as Record<string, number>)[p.status?.phase ?? 'Pending'] ?? 0;
  if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
  const ready = (p: Pod) => (isReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  if (isReady(a) && isReady(b)) {
    const since = (p: Pod) => parseTime(readyCondition(p)?.lastTransitionTime) ?? 0;
    if (since(a) !== since(b)) return since(b) - since(a);
  }
  if (restartCount(a) !== restartCount(b)) return restartCount(b) - restartCount(a);
  const created = (p: Pod) => parseTime(p.metadata.creationTimestamp) ?? 0;
  if (created(a) !== created(b)) return created(b) - created(a);
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? 1 : -1;
}

/** Batches of 1, 2, 4, ... (capped at what is left) so a bad template fails fast and cheaply. */
export function slowStartBatches(total: number, initial = 1): number[] {
  const batches: number[] = [];
  let size = initial;
  let left = total;
  while (left > 0) {
    const batch = Math.min(size, left);
    batches.push(batch);
    left -= batch;
    size *= 2;
  }
  return batches;
}
