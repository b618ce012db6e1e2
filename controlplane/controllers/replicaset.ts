/**
 * ReplicaSet planner: keep spec.replicas active pods (claimed as in claim.ts). Surplus pods go in
 * `deletionOrder`; missing ones are created from the template (the executor uses slow-start
 * batches). At most `burstReplicas` pods are created or deleted per pass.
 */
import type { Pod } from '../../kube/corev1.ts';
import { claimPods } from './claim.ts';
import { deletePod, type Plan } from './actions.ts';
import { availableAt, deletionOrder, isActive, isAvailable, isReady, podFromTemplate } from './pods.ts';
import type { ReplicaSet } from './workload-types.ts';

const burstReplicas = 500;

export function planReplicaSet(rs: ReplicaSet, pods: readonly Pod[], now: Date): Plan {
  const { owned, actions } = claimPods(rs, pods);
  const active = owned.filter(isActive);
  const wanted = rs.metadata.deletionTimestamp ? active.length : (rs.spec.replicas ?? 1);
  const diff = active.length - wanted;
  if (!rs.metadata.deletionTimestamp) {
    if (diff < 0) {
      const count = Math.min(-diff, burstReplicas);
      const pods = Array.from({ length: count }, () => podFromTemplate(rs.spec.template, rs));
      actions.push({ kind: 'createPods', pods });
    } else if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, burstReplicas));
      for (const pod of victims) actions.push(deletePod(pod));
    }
  }

  const minReady = rs.spec.minReadySeconds ?? 0;
  // Claimed pods match the selector already; "fully labeled" means they carry every template label too.
  const templateLabels = Object.entries(rs.spec.template.metadata?.labels ?? {});
  const status = {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => templateLabels.every(([k, v]) => p.metadata.labels?.[k] === v)).length,
    readyReplicas: active.filter(isReady).length,
    availableReplicas: active.filter((p) => isAvailable(p, minReady, now)).length,
    observedGeneration: rs.metadata.generation ?? 1,
    ...(rs.status?.conditions ? { conditions: rs.status.conditions } : {}),
  };
  if (JSON.stringify(status) !== JSON.stringify(rs.status ?? {})) {
    actions.push({ kind: 'updateStatus', resource: 'replicasets', object: { ...rs, status } });
  }

  // A ready pod becomes available once minReadySeconds pass: come back then to count it.
  let requeueAfterMs: number | undefined;
  if (minReady > 0) {
    for (const pod of active) {
      if (isAvailable(pod, minReady, now)) continue;
      const at = availableAt(pod, minReady);
      if (at !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, Math.max(0, at - now.getTime()) + 1);
    }
  }
  return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
}
