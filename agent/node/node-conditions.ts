/**
 * The node's four conditions, computed from what was observed: Ready from a quick runtime ping
 * (never from a full relist), and the three pressures from the host's signals against the
 * kubelet's default hard eviction thresholds. Pure: times come in, and a condition whose status
 * did not change keeps its lastTransitionTime.
 *
 * Reasons are the kubelet's (KubeletReady, KubeletHasSufficientMemory, ...), because dashboards
 * and `kubectl describe node` readers know them; the messages say what bosun measured and where.
 */
import type { NodeCondition } from '../../kube/corev1.ts';
import type { PressureSignals } from './host-facts.ts';

/** The runtime as a quick CRI Status call saw it. */
export type RuntimeHealth =
  | { reachable: true; runtimeReady: boolean; networkReady: boolean; message: string }
  | { reachable: false; message: string };

/** The kubelet's default hard eviction thresholds (memory.available, nodefs.available, nodefs.inodesFree). */
export const pressureThresholds = {
  memoryAvailableBytes: 100 * 1024 * 1024,
  nodefsAvailableFraction: 0.1,
  nodefsInodesFreeFraction: 0.05,
  /** The kubelet has no default pid threshold; bosun reports pressure below 5 % free pids. */
  pidsAvailableFraction: 0.05,
} as const;

export const conditionOrder = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'] as const;

type Verdict = Pick<NodeCondition, 'type' | 'status' | 'reason' | 'message'>;

const mib = (bytes: number) => `${Math.round(bytes / (1024 * 1024))}Mi`;

export function readyVerdict(runtime: RuntimeHealth, shuttingDown = false): Verdict {
  // as the kubelet's shutdown manager reports it while it drains pods for an imminent shutdown
  if (shuttingDown)
    return { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'node is shutting down' };
  if (!runtime.reachable) {
    return {
      type: 'Ready',
      status: 'False',
      reason: 'KubeletNotReady',
      message: `container runtime is down: ${runtime.message}`,
    };
  }
  if (!runtime.runtimeReady) {
    return {
      type: 'Ready',
      status: 'False',
      reason: 'KubeletNotReady',
      message: `container runtime status check may not have completed yet: ${runtime.message}`,
    };
  }
  if (!runtime.networkReady) {
    return {
      type: 'Ready',
      status: 'False',
      reason: 'KubeletNotReady',
      message: `container runtime network not ready: ${runtime.message}`,
    };
  }
  return { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'bosun agent is posting ready status' };
}

/** The pressures as the eviction manager decided them (its thresholds, its transition period). */
export interface PressureState {
  MemoryPressure: boolean;
  DiskPressure: boolean;
  PIDPressure: boolean;
}

/**
 * Without `pressure` (no eviction manager yet) the default thresholds are applied to the signals
 * directly; with it, its verdict is reported and the signals only shape the messages.
 */
export function pressureVerdicts(signals: PressureSignals, pressure?: PressureState): Verdict[] {
  const t = pressureThresholds;
  const memoryLow = pressure?.MemoryPressure ?? signals.memoryAvailableBytes < t.memoryAvailableBytes;
  const fs = signals.nodefs;
  const spaceBelow = fs.capacityBytes > 0 && fs.availableBytes / fs.capacityBytes < t.nodefsAvailableFraction;
  const inodesBelow = fs.inodes > 0 && fs.inodesFree / fs.inodes < t.nodefsInodesFreeFraction;
  const diskPressure = pressure?.DiskPressure ?? (spaceBelow || inodesBelow);
  const spaceLow = diskPressure && (spaceBelow || !inodesBelow);
  const inodesLow = diskPressure && !spaceLow;
  const pidsFree = signals.pidMax - signals.pidsInUse;
  const pidsLow = pressure?.PIDPressure ?? (signals.pidMax > 0 && pidsFree / signals.pidMax < t.pidsAvailableFraction);
  // Messages carry no live numbers: a message that changed every round would make every
  // round a status write. They name the threshold and, for disk, the filesystem it is read from.
  const disk = `nodefs ${fs.mount}`;
  return [
    {
      type: 'MemoryPressure',
      status: memoryLow ? 'True' : 'False',
      reason: memoryLow ? 'KubeletHasInsufficientMemory' : 'KubeletHasSufficientMemory',
      message: memoryLow
        ? `available memory is below ${mib(t.memoryAvailableBytes)}`
        : `bosun agent has sufficient memory available (at least ${mib(t.memoryAvailableBytes)})`,
    },
    {
      type: 'DiskPressure',
      status: spaceLow || inodesLow ? 'True' : 'False',
      reason: spaceLow || inodesLow ? 'KubeletHasDiskPressure' : 'KubeletHasNoDiskPressure',
      message:
        pressure !== undefined && diskPressure
          ? 'bosun agent has disk pressure: an --eviction-hard threshold of nodefs or imagefs was met'
          : spaceLow
            ? `${disk} has less than ${t.nodefsAvailableFraction * 100}% space free`
            : inodesLow
              ? `${disk} has less than ${t.nodefsInodesFreeFraction * 100}% inodes free`
              : `bosun agent has no disk pressure on ${disk}`,
    },
    {
      type: 'PIDPressure',
      status: pidsLow ? 'True' : 'False',
      reason: pidsLow ? 'KubeletHasInsufficientPID' : 'KubeletHasSufficientPID',
      message: pidsLow
        ? `fewer than ${t.pidsAvailableFraction * 100}% of ${signals.pidMax} process IDs are free`
        : 'bosun agent has sufficient PID available',
    },
  ];
}

/**
 * The conditions as they should be, each with the transition time kept from `previous` when its
 * status is unchanged, and `heartbeat` as lastHeartbeatTime.
 */
export function nodeConditions(
  verdicts: readonly Verdict[],
  previous: readonly NodeCondition[] | undefined,
  now: string,
  heartbeat: string,
): NodeCondition[] {
  return conditionOrder.map((type) => {
    const verdict = verdicts.find((v) => v.type === type)!;
    const before = previous?.find((c) => c.type === type);
    const transition =
      before !== undefined && before.status === verdict.status && before.lastTransitionTime
        ? before.lastTransitionTime
        : now;
    return { ...verdict, lastHeartbeatTime: heartbeat, lastTransitionTime: transition };
  });
}
