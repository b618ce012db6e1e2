/**
 * Taints against tolerations, plus the taints a node's conditions imply. Matching follows the API:
 * an empty toleration effect matches every effect, an empty key with Exists matches every taint,
 * Equal (the default operator) compares values.
 */
import type { Node, Taint, Toleration } from '../../kube/corev1.ts';

const notReadyTaintKey = 'node.kubernetes.io/not-ready';
const unreachableTaintKey = 'node.kubernetes.io/unreachable';
export const unschedulableTaintKey = 'node.kubernetes.io/unschedulable';

export function tolerates(toleration: Toleration, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  if (toleration.effect !== undefined && toleration.effect !== '' && toleration.effect !== taint.effect) return false;
  const key = toleration.key ?? '';
  if (key !== '' && key !== taint.key) return false;
  // An empty key is valid only with Exists; with Equal it tolerates nothing.
  if (toleration.operator === 'Exists') return true;
  if (key === '') return false;
  return (toleration.value ?? '') === (taint.value ?? '');
}

export function toleratedByAny(
  tolerations: readonly Toleration[] | undefined,
  taint: Pick<Taint, 'key' | 'value' | 'effect'>,
): boolean {
  return (tolerations ?? []).some((t) => tolerates(t, taint));
}

/** The first taint with one of `effects` that no toleration covers, in the node's order. */
export function firstUntoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[] | undefined,
  effects: readonly Taint['effect'][],
): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !toleratedByAny(tolerations, taint));
}

/**
 * The node's taints as the scheduler should see them. The node lifecycle controller turns a node's
 * Ready condition into not-ready/unreachable NoSchedule taints; until it has done so (or when it is
 * not running) the scheduler derives the same taints itself, so a node that is not Ready never gets
 * new pods, and the failure message names the same taint either way.
 */
export function schedulingTaints(node: Node): Taint[] {
  const taints = [...(node.spec?.taints ?? [])];
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const implied =
    ready === undefined || ready.status === 'False'
      ? notReadyTaintKey
      : ready.status === 'Unknown'
        ? unreachableTaintKey
        : undefined;
  if (implied !== undefined && !taints.some((t) => t.key === implied && t.effect === 'NoSchedule')) {
    taints.push({ key: implied, effect: 'NoSchedule' });
  }
  return taints;
}
