/**
 * The taints a node's state implies, kept in sync by the node lifecycle controller:
 *  - NoSchedule from conditions (not-ready, unreachable, memory/disk/pid pressure, network
 *    unavailable) and from spec.unschedulable, so the scheduler needs no special cases;
 *  - NoExecute not-ready / unreachable, stamped with timeAdded, which start the eviction clock of
 *    pods that tolerate them only for tolerationSeconds (300 s by the API's defaulting).
 * Taints that users or other components set are left alone.
 */
import type { Node, Taint } from '../../kube/corev1.ts';
import { apiTime } from '../../kube/api-time.ts';
import {} from './pods.ts';

const taintKeys = {
  notReady: 'node.kubernetes.io/not-ready',
  unreachable: 'node.kubernetes.io/unreachable',
  unschedulable: 'node.kubernetes.io/unschedulable',
  memoryPressure: 'node.kubernetes.io/memory-pressure',
  diskPressure: 'node.kubernetes.io/disk-pressure',
  pidPressure: 'node.kubernetes.io/pid-pressure',
  networkUnavailable: 'node.kubernetes.io/network-unavailable',
} as const;

const managed = new Set<string>(Object.values(taintKeys));

function statusOf(node: Node, type: string): string | undefined {
  return node.status?.conditions?.find((c) => c.type === type)?.status;
}

/**
 * `evictions: false` leaves the NoExecute taints out (and takes existing ones off): the controller
 * does that when no node at all is Ready, because then the fault is far more likely on the control
 * plane's side (its network, its clock) than on every node at once, and evicting every pod of the
 * cluster would only make it worse (upstream's "full disruption" rule).
 */
export function impliedTaints(node: Node, evictions = true): Taint[] {
  const taints: Taint[] = [];
  const ready = statusOf(node, 'Ready');
  if (ready === 'False') taints.push({ key: taintKeys.notReady, effect: 'NoSchedule' });
  if (ready === 'False' && evictions) taints.push({ key: taintKeys.notReady, effect: 'NoExecute' });
  if (ready === 'Unknown') taints.push({ key: taintKeys.unreachable, effect: 'NoSchedule' });
  if (ready === 'Unknown' && evictions) taints.push({ key: taintKeys.unreachable, effect: 'NoExecute' });
  if (statusOf(node, 'MemoryPressure') === 'True') taints.push({ key: taintKeys.memoryPressure, effect: 'NoSchedule' });
  if (statusOf(node, 'DiskPressure') === 'True') taints.push({ key: taintKeys.diskPressure, effect: 'NoSchedule' });
  if (statusOf(node, 'PIDPressure') === 'True') taints.push({ key: taintKeys.pidPressure, effect: 'NoSchedule' });
  if (statusOf(node, 'NetworkUnavailable') === 'True')
    taints.push({ key: taintKeys.networkUnavailable, effect: 'NoSchedule' });
  if (node.spec?.unschedulable === true) taints.push({ key: taintKeys.unschedulable, effect: 'NoSchedule' });
  return taints;
}

/** The node with its managed taints brought in line, or undefined when they already are. */
export function reconcileTaints(node: Node, now: Date, evictions = true): Node | undefined {
  const current = node.spec?.taints ?? [];
  const wanted = impliedTaints(node, evictions);
  const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
  const kept = current.filter((t) => !managed.has(t.key) || wanted.some((w) => same(w, t)));
  const added = wanted
    .filter((w) => !current.some((t) => same(t, w)))
    .map((w) => (w.effect === 'NoExecute' ? { ...w, timeAdded: apiTime(now) } : w));
  if (added.length === 0 && kept.length === current.length) return undefined;
  const taints = [...kept, ...added];
  const spec = { ...node.spec };
  if (taints.length > 0) spec.taints = taints;
  else delete spec.taints;
  return { ...node, spec };
}
