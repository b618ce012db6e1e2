/**
 * The replica count one metric asks for, as upstream's replica calculator works it out
 * (pkg/controller/podautoscaler/replica_calculator.go): pods sorted into ready, unready (pending,
 * or CPU samples taken while the pod was starting), missing (no sample) and ignored (deleted,
 * failed); the usage ratio of the ready ones against the target; within the tolerance nothing
 * changes; otherwise missing pods count as at the target on the way down and as idle on the way
 * up, unready pods as idle on the way up, and a result that would turn the direction round keeps
 * the current count. Pure: pods, samples and the time come in, a count or an error comes out.
 */
import type { KubeObject } from '../../../kube/types.ts';
import { parseQuantity } from '../../../kube/quantity.ts';

type Any = Record<string, any>;

/** One pod's usage of a resource, in milli-units, and when and over how long it was measured. */
export interface PodSample {
  readonly milliValue: number;
  readonly timestampMs: number;
  readonly windowMs: number;
}

/** Samples by pod name. */
type PodSamples = ReadonlyMap<string, PodSample>;

/** How far below and above 1 the usage ratio may be without a change. */
export interface Tolerances {
  readonly down: number;
  readonly up: number;
}

export interface CalculatorOptions {
  /**
   * Changes within the tolerances of the target are not made: `--horizontal-pod-autoscaler-tolerance`
   * (0.1) both ways, unless behavior's scaleDown/scaleUp name their own (HPAConfigurableTolerance).
   */
  readonly tolerance: Tolerances;
  /** CPU samples of a pod this young count only once it is ready (`--horizontal-pod-autoscaler-cpu-initialization-period`, 5 min). */
  readonly cpuInitializationPeriodMs: number;
  /** An unready pod this close to its start has never been ready (`--horizontal-pod-autoscaler-initial-readiness-delay`, 30 s). */
  readonly delayOfInitialReadinessStatusMs: number;
  readonly nowMs: number;
}

/** A metric that cannot be turned into a replica count; the message is upstream's. */
export class ReplicaCalculationError extends Error {}

/** A quantity in milli-units, rounded up as upstream's MilliValue() rounds. */
export function milliValue(quantity: string | number): number {
  const value = parseQuantity(quantity);
  if (Number.isInteger(value)) return value * 1000;
  // the nano step hides binary-fraction noise: 0.1 must be 100m, not 101m
  return Math.ceil(Math.round(value * 1e9) / 1e6);
}

interface Groups {
  readyCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

const readyCondition = (pod: Any): Any | undefined =>
  (pod.status?.conditions as Any[] | undefined)?.find((c) => c?.type === 'Ready');
/** Go's zero time (0001-01-01): what an unset lastTransitionTime compares as upstream. */
const zeroTimeMs = Date.parse('0001-01-01T00:00:00Z');
const timeOf = (value: unknown): number | undefined => (typeof value === 'string' ? Date.parse(value) : undefined);

function groupPods(
  pods: readonly KubeObject[],
  samples: PodSamples,
  resource: string,
  options: CalculatorOptions,
): Groups {
  const groups: Groups = { readyCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods as readonly Any[]) {
    const name = pod.metadata.name as string;
    if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Failed') {
      groups.ignored.add(name);
      continue;
    }
    if (pod.status?.phase === 'Pending') {
      groups.unready.add(name);
      continue;
    }
    const sample = samples.get(name);
    if (sample === undefined) {
      groups.missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const condition = readyCondition(pod);
      const started = timeOf(pod.status?.startTime);
      const transition = timeOf(condition?.lastTransitionTime) ?? zeroTimeMs;
      let unready: boolean;
      if (condition === undefined || started === undefined) unready = true;
      else if (started + options.cpuInitializationPeriodMs > options.nowMs)
        // still starting: count the sample only when ready for a whole window of it
        unready = condition.status === 'False' || sample.timestampMs < transition + sample.windowMs;
      // past the start: unready only if it has never been ready since it started
      else unready = condition.status === 'False' && started + options.delayOfInitialReadinessStatusMs > transition;
      if (unready) {
        groups.unready.add(name);
        continue;
      }
    }
    groups.readyCount++;
  }
  return groups;
}

/** Each pod's request of the resource (its containers', or one container's), in milli-units. */
function podRequests(pods: readonly KubeObject[], container: string, resource: string): Map<string, number> {
  const requests = new Map<string, number>();
  for (const pod of pods as readonly Any[]) {
    const containers: Any[] = [
      ...((pod.spec?.containers as Any[] | undefined) ?? []),
      // sidecars (restartable init containers) run beside the app and count as upstream counts them
      ...((pod.spec?.initContainers as Any[] | undefined) ?? []).filter((c) => c?.restartPolicy === 'Always'),
    ];
    let request = 0;
    let found = container === '';
    for (const c of containers) {
      if (container !== '' && c.name !== container) continue;
      const value = c.resources?.requests?.[resource];
      if (value === undefined || value === null)
        throw new ReplicaCalculationError(
          `missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}`,
        );
      request += milliValue(value);
      found = true;
      if (container !== '') break;
    }
    if (!found) throw new ReplicaCalculationError(`container ${container} not found in Pod ${pod.metadata.name}`);
    requests.set(pod.metadata.name, request);
  }
  return requests;
}

function utilizationRatio(
  samples: ReadonlyMap<string, number>,
  requests: ReadonlyMap<string, number>,
  targetUtilization: number,
): { ratio: number; utilization: number; rawAverage: number } {
  let usage = 0;
  let requested = 0;
  let counted = 0;
  for (const [pod, value] of samples) {
    const request = requests.get(pod);
    if (request === undefined) continue; // a sample of a pod not listed: not ours to count
    usage += value;
    requested += request;
    counted++;
  }
  if (requested === 0) throw new ReplicaCalculationError('no metrics returned matched known pods');
  const utilization = Math.trunc((usage * 100) / requested);
  return { ratio: utilization / targetUtilization, utilization, rawAverage: Math.trunc(usage / counted) };
}

function usageRatio(samples: ReadonlyMap<string, number>, target: number): { ratio: number; usage: number } {
  let total = 0;
  for (const value of samples.values()) total += value;
  const usage = Math.trunc(total / samples.size);
  return { ratio: usage / target, usage };
}

const within = (ratio: number, tolerance: Tolerances): boolean =>
  1 - tolerance.down <= ratio && ratio <= 1 + tolerance.up;

/** The samples of the pods that count: the ignored and unready ones are left out at first. */
function countedSamples(samples: PodSamples, groups: Groups): Map<string, number> {
  const counted = new Map<string, number>();
  for (const [pod, sample] of samples)
    if (!groups.ignored.has(pod) && !groups.unready.has(pod)) counted.set(pod, sample.milliValue);
  if (counted.size === 0)
    throw new ReplicaCalculationError('did not receive metrics for targeted pods (pods might be unready)');
  return counted;
}

/**
 * The count after filling in the pods without a usable sample: missing ones at `missingDown` on
 * the way down and idle on the way up, unready ones idle on the way up; the current count when
 * the filled-in ratio is within tolerance or turns the direction round.
 */
function rebalanced(
  currentReplicas: number,
  groups: Groups,
  counted: Map<string, number>,
  first: number,
  missingDown: (pod: string) => number,
  ratioOf: (samples: Map<string, number>) => number,
  tolerance: Tolerances,
): number {
  const scaleUpWithUnready = groups.unready.size > 0 && first > 1;
  if (!scaleUpWithUnready && groups.missing.size === 0) {
    if (within(first, tolerance)) return currentReplicas;
    return Math.ceil(first * groups.readyCount);
  }
  const filled = new Map(counted);
  if (first < 1) for (const pod of groups.missing) filled.set(pod, missingDown(pod));
  else if (first > 1) for (const pod of groups.missing) filled.set(pod, 0);
  if (scaleUpWithUnready) for (const pod of groups.unready) filled.set(pod, 0);
  const again = ratioOf(filled);
  if (within(again, tolerance) || (first < 1 && again > 1) || (first > 1 && again < 1)) return currentReplicas;
  const replicas = Math.ceil(again * filled.size);
  // more pods counted can turn the direction round too
  if ((again < 1 && replicas > currentReplicas) || (again > 1 && replicas < currentReplicas)) return currentReplicas;
  return replicas;
}

function checkPods(pods: readonly KubeObject[]): void {
  if (pods.length === 0)
    throw new ReplicaCalculationError('no pods returned by selector while calculating replica count');
}

/** A Utilization target: usage as a percentage of the pods' requests. */
export function resourceUtilizationReplicas(input: {
  readonly currentReplicas: number;
  readonly targetUtilization: number;
  readonly resource: string;
  readonly container: string;
  readonly pods: readonly KubeObject[];
  readonly samples: PodSamples;
  readonly options: CalculatorOptions;
}): { replicas: number; utilization: number; rawUtilization: number } {
  const { pods, samples, resource, options } = input;
  checkPods(pods);
  const groups = groupPods(pods, samples, resource, options);
  const counted = countedSamples(samples, groups);
  const requests = podRequests(pods, input.container, resource);
  const first = utilizationRatio(counted, requests, input.targetUtilization);
  // a missing pod counts at its request on the way down, or at the target when that is above 100 %
  const fallback = Math.max(100, input.targetUtilization);
  const replicas = rebalanced(
    input.currentReplicas,
    groups,
    counted,
    first.ratio,
    (pod) => Math.trunc(((requests.get(pod) ?? 0) * fallback) / 100),
    (filled) => utilizationRatio(filled, requests, input.targetUtilization).ratio,
    options.tolerance,
  );
  return { replicas, utilization: first.utilization, rawUtilization: first.rawAverage };
}

/** An AverageValue target (resource usage per pod, or a pods metric): usage per pod against the target. */
export function averageValueReplicas(input: {
  readonly currentReplicas: number;
  readonly targetMilliValue: number;
  readonly resource: string;
  readonly pods: readonly KubeObject[];
  readonly samples: PodSamples;
  readonly options: CalculatorOptions;
}): { replicas: number; usage: number } {
  const { pods, samples, options } = input;
  checkPods(pods);
  const groups = groupPods(pods, samples, input.resource, options);
  const counted = countedSamples(samples, groups);
  const first = usageRatio(counted, input.targetMilliValue);
  const replicas = rebalanced(
    input.currentReplicas,
    groups,
    counted,
    first.ratio,
    () => input.targetMilliValue,
    (filled) => usageRatio(filled, input.targetMilliValue).ratio,
    options.tolerance,
  );
  return { replicas, usage: first.usage };
}
