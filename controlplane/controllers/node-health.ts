/**
 * Is a node's agent still there? The agent proves it by renewing its Lease (every 10 s) and by
 * posting node status. The controller notes, on its own clock, when it last saw either move
 * (comparing the agent's timestamps with each other would trust the node's clock); a node silent
 * for longer than the grace period (50 s; 60 s for a node that never posted Ready) gets its Ready
 * and pressure conditions set to Unknown. Pure: the previous observation comes in, the next one
 * goes out with the node status to write, if any.
 */
import type { Lease, Node, NodeCondition } from '../../kube/corev1.ts';
import { apiTime } from '../../kube/api-time.ts';
import { parseTime } from './pods.ts';

const defaultMonitorGraceMs = 50_000;
const defaultStartupGraceMs = 60_000;
export const defaultMonitorPeriodMs = 5_000;

export interface NodeHealth {
  /** When this controller last saw a sign of life (its own clock, ms). */
  readonly probedAt: number;
  readonly heartbeat: string | undefined;
  readonly leaseRenew: string | undefined;
}

export interface HealthOptions {
  readonly graceMs?: number;
  readonly startupGraceMs?: number;
}

interface HealthAssessment {
  readonly health: NodeHealth;
  /** The node with conditions set to Unknown, when they need writing. */
  readonly statusUpdate?: Node;
  /** Milliseconds until the grace period runs out (for requeueing), if it has not yet. */
  readonly remainingMs?: number;
}

const conditionsMadeUnknown = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export function assessNode(
  node: Node,
  lease: Lease | undefined,
  previous: NodeHealth | undefined,
  now: Date,
  options: HealthOptions = {},
): HealthAssessment {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const heartbeat = ready?.lastHeartbeatTime;
  const leaseRenew = lease?.spec?.renewTime;
  const nowMs = now.getTime();
  let probedAt: number;
  if (previous === undefined) {
    // First sight: a node that never reported is measured from its creation; otherwise from now.
    probedAt = ready === undefined ? (parseTime(node.metadata.creationTimestamp) ?? nowMs) : nowMs;
  } else if (heartbeat !== previous.heartbeat || (leaseRenew !== undefined && leaseRenew !== previous.leaseRenew)) {
    probedAt = nowMs;
  } else probedAt = previous.probedAt;
  const health: NodeHealth = { probedAt, heartbeat, leaseRenew };
  const grace =
    ready === undefined
      ? (options.startupGraceMs ?? defaultStartupGraceMs)
      : (options.graceMs ?? defaultMonitorGraceMs);
  const remaining = probedAt + grace - nowMs;
  if (remaining > 0) return { health, remainingMs: remaining };

  const nowText = apiTime(now);
  const conditions: NodeCondition[] = [...(node.status?.conditions ?? [])];
  let changed = false;
  for (const type of conditionsMadeUnknown) {
    const index = conditions.findIndex((c) => c.type === type);
    const current = index >= 0 ? conditions[index] : undefined;
    if (current?.status === 'Unknown') continue;
    changed = true;
    const next: NodeCondition =
      current === undefined
        ? {
            type,
            status: 'Unknown',
            reason: 'NodeStatusNeverUpdated',
            message: 'Kubelet never posted node status.',
            lastHeartbeatTime: node.metadata.creationTimestamp ?? nowText,
            lastTransitionTime: nowText,
          }
        : {
            ...current,
            status: 'Unknown',
            reason: 'NodeStatusUnknown',
            message: 'Kubelet stopped posting node status.',
            lastTransitionTime: nowText,
          };
    if (index >= 0) conditions[index] = next;
    else conditions.push(next);
  }
  if (!changed) return { health };
  return { health, statusUpdate: { ...node, status: { ...node.status, conditions } } };
}
