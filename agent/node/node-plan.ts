/**
 * The node planner: from the node's configuration, what was observed on the host and runtime, and
 * the Node the API holds (or nothing), it decides what to write. Pure: the caller passes `now`.
 *
 *   no Node          -> create it (labels, the taints of --register-with-taints, status)
 *   Node exists      -> patch the labels that differ from ours (others' labels are left alone)
 *                       and write the status when something in it changed, or when the last
 *                       heartbeat is older than the report interval (5 min), as the kubelet does
 * Taints are only set at registration: after that they belong to the cluster's operators and
 * controllers, and a restarted agent must not put back a taint someone removed.
 */
import type { ContainerImage, Node, NodeCondition, NodeStatus, ResourceList, Taint } from '../../kube/corev1.ts';
import { resourceAmount } from '../../kube/quantity.ts';
import type { HostFacts, PressureSignals } from './host-facts.ts';
import {
  conditionOrder,
  nodeConditions,
  pressureThresholds,
  pressureVerdicts,
  readyVerdict,
  type PressureState,
  type RuntimeHealth,
} from './node-conditions.ts';
import type { Reserved } from './node-flags.ts';
import { apiTime } from '../../kube/api-time.ts';
import { compareText } from '../../kube/text-order.ts';

export interface NodeSettings {
  nodeName: string;
  nodeIP: string;
  /** --node-labels */
  labels: Readonly<Record<string, string>>;
  /** --register-with-taints */
  taints: readonly Taint[];
  maxPods: number;
  /** --system-reserved plus --kube-reserved */
  reserved: Reserved;
  kubeletPort: number;
  /** bosun's version as the kubelet spells its own ('v0.1.0'). */
  kubeletVersion: string;
}

export interface ObservedImage {
  names: string[];
  sizeBytes: number;
}

export interface NodeObservation {
  host: HostFacts;
  signals: PressureSignals;
  runtime: RuntimeHealth;
  /** `<runtime name>://<runtime version>`; kept from the last successful Version call. */
  runtimeVersion: string;
  images: readonly ObservedImage[];
  /** The eviction manager's pressure conditions; absent: derived from `signals`. */
  pressure?: PressureState;
  /** Graceful node shutdown has begun (the node turns NotReady). */
  shuttingDown?: boolean;
  /** Persistent volumes pods of this node mount (absent: none known). */
  volumes?: readonly NodeVolume[];
}

/** A persistent volume in use on the node: its unique name and where it is on the host. */
export interface NodeVolume {
  readonly name: string;
  readonly path: string;
}

export type NodePlan =
  | { kind: 'create'; node: Node }
  | {
      kind: 'update';
      /** Labels to set (a merge patch of metadata.labels); absent when none differ. */
      labels?: Record<string, string>;
      /** The status to write; absent when nothing changed and no heartbeat is due. */
      status?: NodeStatus;
      /** Why the status is written ('changed: conditions', 'heartbeat due'), for the log. */
      why: string[];
    };

/** The kubelet's nodeStatusReportFrequency. */
const statusReportIntervalMs = 5 * 60 * 1000;
/** The kubelet's nodeStatusMaxImages and maxNamesPerImageInNodeStatus. */
const maxImagesInStatus = 50;
const maxNamesPerImage = 5;

function bytes(amount: number): string {
  const whole = Math.max(0, Math.floor(amount));
  return whole % 1024 === 0 ? `${whole / 1024}Ki` : String(whole);
}

function cpu(milli: number): string {
  const m = Math.max(0, Math.floor(milli));
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

function defaultLabels(settings: NodeSettings, host: HostFacts): Record<string, string> {
  return {
    'kubernetes.io/hostname': settings.nodeName,
    'kubernetes.io/os': host.operatingSystem,
    'kubernetes.io/arch': host.architecture,
    'beta.kubernetes.io/os': host.operatingSystem,
    'beta.kubernetes.io/arch': host.architecture,
    ...(host.instanceType !== undefined
      ? { 'node.kubernetes.io/instance-type': host.instanceType, 'beta.kubernetes.io/instance-type': host.instanceType }
      : {}),
  };
}

/**
 * Capacity is what the host has; allocatable is what pods may use: capacity minus the reserved
 * amounts, minus the hard eviction threshold (pods must not be placed into the space the node
 * keeps free), and memory minus what huge pages hold.
 */
export function nodeResources(
  settings: NodeSettings,
  host: HostFacts,
  signals: PressureSignals,
): { capacity: ResourceList; allocatable: ResourceList } {
  const hugepageBytes = Object.values(host.hugepages).reduce((a, b) => a + b, 0);
  const disk = signals.nodefs.capacityBytes;
  const huge = Object.fromEntries(
    Object.entries(host.hugepages).map(([size, amount]) => [`hugepages-${size}`, bytes(amount)]),
  );
  return {
    capacity: {
      cpu: cpu(host.cpuCores * 1000),
      memory: bytes(host.memoryBytes),
      'ephemeral-storage': bytes(disk),
      pods: String(settings.maxPods),
      ...huge,
    },
    allocatable: {
      cpu: cpu(host.cpuCores * 1000 - settings.reserved.cpuMilli),
      memory: bytes(
        host.memoryBytes - settings.reserved.memoryBytes - pressureThresholds.memoryAvailableBytes - hugepageBytes,
      ),
      'ephemeral-storage': bytes(
        disk - settings.reserved.ephemeralStorageBytes - disk * pressureThresholds.nodefsAvailableFraction,
      ),
      pods: String(settings.maxPods),
      ...huge,
    },
  };
}

function statusImages(images: readonly ObservedImage[]): ContainerImage[] {
  return [...images]
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, maxImagesInStatus)
    .map((image) => ({ names: image.names.slice(0, maxNamesPerImage), sizeBytes: image.sizeBytes }));
}

function desiredStatus(
  settings: NodeSettings,
  seen: NodeObservation,
  previous: NodeCondition[] | undefined,
  now: string,
  heartbeat: string,
): NodeStatus {
  const verdicts = [
    ...pressureVerdicts(seen.signals, seen.pressure),
    readyVerdict(seen.runtime, seen.shuttingDown === true),
  ];
  return {
    ...nodeResources(settings, seen.host, seen.signals),
    conditions: nodeConditions(verdicts, previous, now, heartbeat),
    addresses: [
      { type: 'InternalIP', address: settings.nodeIP },
      { type: 'Hostname', address: settings.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: settings.kubeletPort } },
    nodeInfo: {
      machineID: seen.host.machineID,
      systemUUID: seen.host.systemUUID,
      bootID: seen.host.bootID,
      kernelVersion: seen.host.kernelVersion,
      osImage: seen.host.osImage,
      containerRuntimeVersion: seen.runtimeVersion,
      kubeletVersion: settings.kubeletVersion,
      kubeProxyVersion: settings.kubeletVersion,
      operatingSystem: seen.host.operatingSystem,
      architecture: seen.host.architecture,
    },
    images: statusImages(seen.images),
    ...nodeVolumes(seen.volumes ?? []),
  };
}

/** volumesInUse and volumesAttached, sorted, so an unchanged set is no change. */
function nodeVolumes(volumes: readonly NodeVolume[]): Pick<NodeStatus, 'volumesInUse' | 'volumesAttached'> {
  const sorted = [...new Map(volumes.map((v) => [v.name, v])).values()].sort((a, b) => compareText(a.name, b.name));
  return {
    volumesInUse: sorted.map((v) => v.name),
    volumesAttached: sorted.map((v) => ({ name: v.name, devicePath: v.path })),
  };
}

function sameResources(a: ResourceList | undefined, b: ResourceList | undefined): boolean {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  for (const key of keys) {
    const x = a?.[key];
    const y = b?.[key];
    if (x === undefined || y === undefined) return false;
    try {
      if (resourceAmount(key, x) !== resourceAmount(key, y)) return false;
    } catch {
      if (String(x) !== String(y)) return false;
    }
  }
  return true;
}

const ours = new Set<string>(conditionOrder);

/** Which parts of our status differ from what the API holds (heartbeat times aside). */
function statusChanges(wanted: NodeStatus, current: NodeStatus | undefined): string[] {
  const changed: string[] = [];
  if (!sameResources(wanted.capacity, current?.capacity)) changed.push('capacity');
  if (!sameResources(wanted.allocatable, current?.allocatable)) changed.push('allocatable');
  const strip = (conditions: NodeCondition[] | undefined) =>
    JSON.stringify(
      (conditions ?? [])
        .filter((c) => ours.has(c.type))
        .sort((a, b) => compareText(a.type, b.type))
        .map((c) => ({
          type: c.type,
          status: c.status,
          reason: c.reason,
          message: c.message,
          lastTransitionTime: c.lastTransitionTime,
        })),
    );
  if (strip(wanted.conditions) !== strip(current?.conditions)) changed.push('conditions');
  for (const field of ['addresses', 'daemonEndpoints', 'nodeInfo', 'images'] as const) {
    if (JSON.stringify(wanted[field] ?? null) !== JSON.stringify(current?.[field] ?? null)) changed.push(field);
  }
  for (const field of ['volumesInUse', 'volumesAttached'] as const) {
    if (JSON.stringify(wanted[field] ?? []) !== JSON.stringify(current?.[field] ?? [])) changed.push(field);
  }
  return changed;
}

export function planNode(
  settings: NodeSettings,
  seen: NodeObservation,
  current: Node | undefined,
  nowMs: number,
): NodePlan {
  const now = apiTime(nowMs);
  const labels = { ...defaultLabels(settings, seen.host), ...settings.labels };
  if (current === undefined) {
    return {
      kind: 'create',
      node: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: settings.nodeName, labels },
        spec: settings.taints.length > 0 ? { taints: settings.taints.map((t) => ({ ...t })) } : {},
        status: desiredStatus(settings, seen, undefined, now, now),
      },
    };
  }
  const labelPatch = Object.fromEntries(
    Object.entries(labels).filter(([key, value]) => current.metadata.labels?.[key] !== value),
  );
  const previous = current.status?.conditions;
  const lastHeartbeat = previous?.find((c) => c.type === 'Ready')?.lastHeartbeatTime;
  const lastHeartbeatMs = lastHeartbeat === undefined ? Number.NaN : Date.parse(lastHeartbeat);
  // compare with the heartbeat the API holds, so a new heartbeat alone is not a change
  const wanted = desiredStatus(settings, seen, previous, now, lastHeartbeat ?? now);
  const why = statusChanges(wanted, current.status).map((part) => `changed: ${part}`);
  if (!(nowMs - lastHeartbeatMs < statusReportIntervalMs)) why.push('heartbeat due');
  return {
    kind: 'update',
    ...(Object.keys(labelPatch).length > 0 ? { labels: labelPatch } : {}),
    ...(why.length > 0 ? { status: desiredStatus(settings, seen, previous, now, now) } : {}),
    why,
  };
}
