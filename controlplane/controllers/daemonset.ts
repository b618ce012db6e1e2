/**
 * DaemonSet planner: one pod on every node the template may run on. A node is eligible when it
 * matches the nodeSelector / required node affinity and every NoSchedule and NoExecute taint is
 * tolerated, counting the tolerations a DaemonSet pod always gets (not-ready, unreachable,
 * pressure and unschedulable). Pods are pinned to their node by required node affinity on
 * metadata.name and placed by the scheduler, as upstream does. A node that stops being eligible
 * loses its pod only for a NoExecute taint or a selector change; extra pods on a node go, oldest
 * kept. RollingUpdate replaces pods of an old template while at most maxUnavailable (default 1)
 * nodes lack an available pod; OnDelete waits for the user to delete them.
 */
import type { Node, Pod, Toleration } from '../../kube/corev1.ts';
import { deletePod, type Plan } from './actions.ts';
import { claimPods } from './claim.ts';
import { planRevisions, revisionName, type ControllerRevision } from './controller-revisions.ts';
import { scaledValue } from './int-or-percent.ts';
import { isActive, isAvailable, isReady, parseTime, podFromTemplate } from './pods.ts';
import { templateHash } from './template-hash.ts';
import type { DaemonSet } from './workload-types.ts';
import { nodeMatchesPodRequirements } from '../scheduler/node-affinity.ts';
import { firstUntoleratedTaint } from '../scheduler/taints.ts';

export const revisionHashLabel = 'controller-revision-hash';

const daemonTolerations: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

function withDaemonTolerations(ds: DaemonSet): Toleration[] {
  const own = ds.spec.template.spec.tolerations ?? [];
  const extra = [...daemonTolerations];
  if (ds.spec.template.spec.hostNetwork)
    extra.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  return [...own, ...extra.filter((t) => !own.some((o) => o.key === t.key && o.effect === t.effect))];
}

/** Whether a new daemon pod should start on the node, and whether a running one may stay. */
export function nodeEligibility(ds: DaemonSet, node: Node): { shouldRun: boolean; mayStay: boolean } {
  const probe: Pod = { metadata: {}, spec: { ...ds.spec.template.spec, tolerations: withDaemonTolerations(ds) } };
  if (!nodeMatchesPodRequirements(probe, node)) return { shouldRun: false, mayStay: false };
  const taints = node.spec?.taints ?? [];
  const mayStay = firstUntoleratedTaint(taints, probe.spec.tolerations, ['NoExecute']) === undefined;
  const shouldRun = mayStay && firstUntoleratedTaint(taints, probe.spec.tolerations, ['NoSchedule']) === undefined;
  return { shouldRun, mayStay };
}

/** The node a daemon pod is for: where it runs, or where its affinity pins it before binding. */
export function targetNode(pod: Pod): string | undefined {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms ?? []) {
    const field = term.matchFields?.find((f) => f.key === 'metadata.name' && f.operator === 'In');
    if (field?.values?.length === 1) return field.values[0];
  }
  return undefined;
}

function daemonPod(ds: DaemonSet, nodeName: string, hash: string): Pod {
  const pod = podFromTemplate(ds.spec.template, ds, { [revisionHashLabel]: hash });
  pod.spec.tolerations = withDaemonTolerations(ds);
  const affinity = pod.spec.affinity ?? {};
  pod.spec.affinity = {
    ...affinity,
    nodeAffinity: {
      ...affinity.nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
      },
    },
  };
  return pod;
}

function created(pod: Pod): number {
  return parseTime(pod.metadata.creationTimestamp) ?? 0;
}

export function planDaemonSet(
  ds: DaemonSet,
  nodes: readonly Node[],
  pods: readonly Pod[],
  now: Date,
  revisions: readonly ControllerRevision[] = [],
): Plan {
  const { owned, actions } = claimPods(ds, pods);
  if (ds.metadata.deletionTimestamp) return { actions };
  const hash = templateHash(ds.spec.template);
  const minReady = ds.spec.minReadySeconds ?? 0;
  const byNode = new Map<string, Pod[]>();
  for (const pod of owned) {
    if (pod.metadata.deletionTimestamp) continue;
    if (pod.status?.phase === 'Failed') {
      actions.push(deletePod(pod)); // a failed daemon pod is replaced
      continue;
    }
    const target = targetNode(pod);
    if (target === undefined) continue;
    byNode.set(target, [...(byNode.get(target) ?? []), pod]);
  }
  const toCreate: Pod[] = [];
  let desired = 0;
  let scheduled = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  const oldPods: { pod: Pod; available: boolean }[] = [];
  let unavailableNodes = 0;
  const nodeNames = new Set(nodes.map((n) => n.metadata.name));
  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const { shouldRun, mayStay } = nodeEligibility(ds, node);
    const here = (byNode.get(name) ?? []).filter(isActive).sort((a, b) => created(a) - created(b));
    if (!shouldRun && here.length > 0) misscheduled++;
    if (!mayStay) {
      for (const pod of here) actions.push(deletePod(pod));
      continue;
    }
    // Not eligible for new pods but allowed to keep one: it counts only as misscheduled.
    if (!shouldRun) continue;
    desired++;
    if (here.length === 0) {
      toCreate.push(daemonPod(ds, name, hash));
      unavailableNodes++;
      continue;
    }
    scheduled++;
    for (const extra of here.slice(1)) actions.push(deletePod(extra));
    const pod = here[0]!;
    const podAvailable = isAvailable(pod, minReady, now);
    if (isReady(pod)) ready++;
    if (podAvailable) available++;
    else unavailableNodes++;
    if (pod.metadata.labels?.[revisionHashLabel] === hash) updated++;
    else oldPods.push({ pod, available: podAvailable });
  }
  // Pods for nodes that no longer exist.
  for (const [name, stranded] of byNode)
    if (!nodeNames.has(name)) for (const pod of stranded) actions.push(deletePod(pod));
  if (toCreate.length > 0) actions.push({ kind: 'createPods', pods: toCreate });

  if ((ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && oldPods.length > 0) {
    const maxUnavailable = Math.max(
      1,
      scaledValue(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable, desired, true, 1),
    );
    // Old pods that are not available cost nothing to replace; available ones only within the budget.
    let budget = maxUnavailable - unavailableNodes;
    for (const { pod, available: isUp } of [...oldPods].sort((a, b) => Number(a.available) - Number(b.available))) {
      if (!isUp) actions.push(deletePod(pod));
      else if (budget > 0) {
        actions.push(deletePod(pod));
        budget--;
      }
    }
  }

  const inUse = new Set(owned.map((p) => revisionName(ds, p.metadata.labels?.[revisionHashLabel] ?? '')));
  actions.push(...planRevisions({ owner: ds, hash, revisions, inUse }));

  const status = {
    desiredNumberScheduled: desired,
    currentNumberScheduled: scheduled,
    numberMisscheduled: misscheduled,
    numberReady: ready,
    numberAvailable: available,
    numberUnavailable: Math.max(0, desired - available),
    updatedNumberScheduled: updated,
    observedGeneration: ds.metadata.generation ?? 1,
  };
  if (JSON.stringify(status) !== JSON.stringify(ds.status ?? {}))
    actions.push({ kind: 'updateStatus', resource: 'daemonsets', object: { ...ds, status } });
  return { actions };
}
