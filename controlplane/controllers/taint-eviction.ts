/**
 * Taint-based eviction (upstream's taint manager): pods on a node with NoExecute taints they do
 * not tolerate are deleted at once; pods that tolerate every such taint for a limited time
 * (tolerationSeconds) are deleted when the shortest of those times has run out, counted from when
 * the taint was added. Pods with unlimited tolerations stay.
 */
import type { Node, Pod, Taint } from '../../kube/corev1.ts';
import { tolerates } from '../scheduler/taints.ts';
import { deletePod, type Action, type Plan } from './actions.ts';
import { isActive, parseTime } from './pods.ts';

/** When the pod must go: 'now', a time in ms, or 'never'. */
export function evictionTime(pod: Pod, taints: readonly Taint[], now: number): 'now' | number | 'never' {
  const noExecute = taints.filter((t) => t.effect === 'NoExecute');
  if (noExecute.length === 0) return 'never';
  let deadline: number | undefined;
  for (const taint of noExecute) {
    const matching = (pod.spec.tolerations ?? []).filter((t) => tolerates(t, taint));
    if (matching.length === 0) return 'now';
    const limited = matching.filter((t) => t.tolerationSeconds !== undefined && t.tolerationSeconds !== null);
    // One unlimited toleration of this taint is enough to stay for it.
    if (limited.length < matching.length) continue;
    const seconds = Math.max(0, Math.min(...limited.map((t) => t.tolerationSeconds!)));
    const at = (parseTime(taint.timeAdded) ?? now) + seconds * 1000;
    deadline = deadline === undefined ? at : Math.min(deadline, at);
  }
  return deadline === undefined ? 'never' : deadline <= now ? 'now' : deadline;
}

export function planTaintEvictions(node: Node, pods: readonly Pod[], now: Date): Plan {
  const actions: Action[] = [];
  let requeueAfterMs: number | undefined;
  const taints = node.spec?.taints ?? [];
  for (const pod of pods) {
    if (pod.spec.nodeName !== node.metadata.name || !isActive(pod)) continue;
    const when = evictionTime(pod, taints, now.getTime());
    if (when === 'never') continue;
    if (when === 'now') {
      actions.push({
        kind: 'event',
        object: { ...pod, apiVersion: 'v1', kind: 'Pod' },
        type: 'Normal',
        reason: 'TaintManagerEviction',
        message: `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`,
      });
      actions.push(deletePod(pod));
    } else requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, when - now.getTime() + 1);
  }
  return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
}
