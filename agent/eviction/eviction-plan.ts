/**
 * The eviction manager's decisions, pure (upstream pkg/kubelet/eviction, hard thresholds only):
 *
 *  - which thresholds are met by the observed signals;
 *  - the node's pressure conditions: a condition turns True when one of its signals is met, and
 *    goes back to False only after --eviction-pressure-transition-period (5 min) without any, so
 *    a node hovering at a threshold does not flap;
 *  - what to reclaim first (disk: dead containers and unused images), and which single pod to
 *    evict when that was not enough, ranked as upstream ranks them:
 *      memory: pods using more than they request first, then lower priority, then usage above
 *              request (largest first);
 *      disk:   the same, with local ephemeral storage (logs + writable layers + emptyDir);
 *  - the Evicted message, worded as the kubelet words it.
 */
import { formatBytes, thresholdText, thresholdValue, type EvictionSignal, type Threshold } from './thresholds.ts';

interface SignalObservation {
  available: number;
  capacity: number;
}

export type Observations = Partial<Record<EvictionSignal, SignalObservation>>;

type PressureCondition = 'MemoryPressure' | 'DiskPressure' | 'PIDPressure';
type StarvedResource = 'memory' | 'ephemeral-storage' | 'pids';

const conditionOf: Record<EvictionSignal, PressureCondition> = {
  'memory.available': 'MemoryPressure',
  'nodefs.available': 'DiskPressure',
  'nodefs.inodesFree': 'DiskPressure',
  'imagefs.available': 'DiskPressure',
  'imagefs.inodesFree': 'DiskPressure',
  'pid.available': 'PIDPressure',
};

const resourceOf: Record<EvictionSignal, StarvedResource> = {
  'memory.available': 'memory',
  'nodefs.available': 'ephemeral-storage',
  'nodefs.inodesFree': 'ephemeral-storage',
  'imagefs.available': 'ephemeral-storage',
  'imagefs.inodesFree': 'ephemeral-storage',
  'pid.available': 'pids',
};

/** Memory is acted on first (it cannot wait), then disk; as upstream orders them. */
const signalOrder: readonly EvictionSignal[] = [
  'memory.available',
  'nodefs.available',
  'nodefs.inodesFree',
  'imagefs.available',
  'imagefs.inodesFree',
  'pid.available',
];

interface MetThreshold {
  threshold: Threshold;
  observed: SignalObservation;
}

/** When each pressure condition was last observed (ms); carried from one round to the next. */
export type PressureMemory = Partial<Record<PressureCondition, number>>;

export interface PressurePlan {
  met: MetThreshold[];
  /** The three conditions as the node should report them now. */
  conditions: Record<PressureCondition, boolean>;
  memory: PressureMemory;
  /** The threshold to act on this round (the first met, memory before disk), if any. */
  act?: MetThreshold & { resource: StarvedResource; reclaimDisk: boolean };
}

export function planPressure(input: {
  observations: Observations;
  thresholds: readonly Threshold[];
  previous: PressureMemory;
  now: number;
  transitionPeriodMs: number;
}): PressurePlan {
  const met: MetThreshold[] = [];
  for (const signal of signalOrder) {
    const threshold = input.thresholds.find((t) => t.signal === signal);
    const observed = input.observations[signal];
    if (threshold === undefined || observed === undefined || observed.capacity <= 0) continue;
    if (observed.available < thresholdValue(threshold, observed.capacity)) met.push({ threshold, observed });
  }
  const memory: PressureMemory = { ...input.previous };
  for (const m of met) memory[conditionOf[m.threshold.signal]] = input.now;
  const holds = (c: PressureCondition) => memory[c] !== undefined && input.now - memory[c]! < input.transitionPeriodMs;
  const first = met[0];
  return {
    met,
    conditions: {
      MemoryPressure: holds('MemoryPressure'),
      DiskPressure: holds('DiskPressure'),
      PIDPressure: holds('PIDPressure'),
    },
    memory,
    ...(first !== undefined
      ? {
          act: {
            ...first,
            resource: resourceOf[first.threshold.signal],
            reclaimDisk: resourceOf[first.threshold.signal] === 'ephemeral-storage',
          },
        }
      : {}),
  };
}

interface ContainerUsage {
  name: string;
  /** Working set bytes. */
  memory: number;
  memoryRequest: number;
  /** Writable layer + its logs, bytes. */
  disk: number;
  diskRequest: number;
}

export interface PodUsage {
  uid: string;
  name: string;
  namespace: string;
  priority: number;
  containers: readonly ContainerUsage[];
  /** Pod-level local storage (emptyDir), bytes. */
  volumesDisk: number;
}

function totals(pod: PodUsage, resource: 'memory' | 'ephemeral-storage'): { usage: number; request: number } {
  if (resource === 'memory') {
    return {
      usage: pod.containers.reduce((s, c) => s + c.memory, 0),
      request: pod.containers.reduce((s, c) => s + c.memoryRequest, 0),
    };
  }
  return {
    usage: pod.volumesDisk + pod.containers.reduce((s, c) => s + c.disk, 0),
    request: pod.containers.reduce((s, c) => s + c.diskRequest, 0),
  };
}

/** Pods in eviction order, first to go first. PID pressure ranks by priority alone. */
export function rankForEviction(pods: readonly PodUsage[], resource: StarvedResource): PodUsage[] {
  if (resource === 'pids') return [...pods].sort((a, b) => a.priority - b.priority);
  return [...pods].sort((a, b) => {
    const [ta, tb] = [totals(a, resource), totals(b, resource)];
    const [ea, eb] = [ta.usage > ta.request, tb.usage > tb.request];
    if (ea !== eb) return ea ? -1 : 1;
    if (a.priority !== b.priority) return a.priority - b.priority;
    return tb.usage - tb.request - (ta.usage - ta.request);
  });
}

/**
 * "The node was low on resource: ephemeral-storage. Threshold quantity: 6Mi, available: 2Mi.
 *  Container fill was using 58Mi, request is 0, has larger consumption of ephemeral-storage. "
 */
export function evictionMessage(resource: StarvedResource, met: MetThreshold, pod: PodUsage): string {
  const quantity = thresholdValue(met.threshold, met.observed.capacity);
  const format = (n: number) =>
    met.threshold.signal.endsWith('inodesFree') || resource === 'pids' ? String(Math.round(n)) : formatBytes(n);
  let message = `The node was low on resource: ${resource}. Threshold quantity: ${format(quantity)}${met.threshold.fraction !== undefined ? ` (${thresholdText(met.threshold)})` : ''}, available: ${format(met.observed.available)}. `;
  if (resource === 'pids') return message;
  for (const c of pod.containers) {
    const usage = resource === 'memory' ? c.memory : c.disk;
    const request = resource === 'memory' ? c.memoryRequest : c.diskRequest;
    if (usage > request)
      message += `Container ${c.name} was using ${formatBytes(usage)}, request is ${request === 0 ? '0' : formatBytes(request)}, has larger consumption of ${resource}. `;
  }
  if (resource === 'ephemeral-storage' && pod.volumesDisk > 0)
    message += `Pod ${pod.name} was using ${formatBytes(pod.volumesDisk)} in emptyDir volumes. `;
  return message;
}
