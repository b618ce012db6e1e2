/**
 * One pass over one HorizontalPodAutoscaler, as upstream's reconcileAutoscaler: from the target's
 * scale, its pods and their resource metrics to the count to set, the events to record and the
 * status to write (conditions AbleToScale, ScalingActive, ScalingLimited in upstream's words).
 * Pure: what the controller observed comes in, what it should do comes out; the controller
 * (controller.ts) reads and writes through the API.
 */
import { apiTime } from '../../../kube/api-time.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { type ConditionChange, normalizeDesiredReplicas, recordScale, type ScaleHistory } from './behavior.ts';
import { podSamples } from './pod-samples.ts';
import {
  averageValueReplicas,
  type CalculatorOptions,
  milliValue,
  ReplicaCalculationError,
  resourceUtilizationReplicas,
  type Tolerances,
} from './replica-calculator.ts';
import { parseQuantity } from '../../../kube/quantity.ts';

type Any = Record<string, any>;

export interface ControllerTimings {
  readonly tolerance: number;
  readonly cpuInitializationPeriodMs: number;
  readonly delayOfInitialReadinessStatusMs: number;
  readonly downscaleStabilizationMs: number;
}

/** What the controller read for one pass. */
export interface Observed {
  /** The autoscaler (autoscaling/v2 form). */
  readonly hpa: KubeObject;
  readonly scale:
    | { readonly specReplicas: number; readonly statusReplicas: number; readonly selector: string }
    | { readonly error: string };
  /** The pods the scale's selector picks (read only when the scale was). */
  readonly pods: readonly KubeObject[];
  /** metrics.k8s.io PodMetrics of those pods, or why they could not be read. */
  readonly podMetrics: readonly Any[] | { readonly error: string };
  /**
   * Why the scale's selector cannot be used: it does not parse, or the pods it picks are also
   * picked by another autoscaler of the namespace (upstream refuses to scale either then).
   */
  readonly selectorProblem?: { readonly reason: 'InvalidSelector' | 'AmbiguousSelector'; readonly message: string };
  readonly history: ScaleHistory;
  readonly nowMs: number;
}

interface RecordedEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface Pass {
  /** Set the target's scale to this, for this reason; absent: leave it. */
  readonly rescale?: { readonly replicas: number; readonly reason: string };
  /** The status to write when it differs from the stored one (after a rescale that worked). */
  readonly status: Any;
  readonly events: readonly RecordedEvent[];
  readonly history: ScaleHistory;
  /** The history to keep if the rescale fails: the recommendation counts, the scale event does not. */
  readonly historyWithoutRescale?: ScaleHistory;
}

type ConditionType = ConditionChange['type'] | 'ScalingActive';

/** Sets a condition, keeping its transition time while its status stays (upstream's setCondition). */
function setCondition(
  conditions: readonly Any[],
  type: ConditionType,
  status: 'True' | 'False',
  reason: string,
  message: string,
  nowMs: number,
): Any[] {
  const next = conditions.map((c) => ({ ...c }));
  const existing = next.find((c) => c.type === type);
  const at = apiTime(new Date(nowMs));
  if (existing === undefined) {
    next.push({ type, status, lastTransitionTime: at, reason, message });
    return next;
  }
  if (existing.status !== status) existing.lastTransitionTime = at;
  existing.status = status;
  existing.reason = reason;
  existing.message = message;
  return next;
}

/** A milli-value as upstream prints a DecimalSI quantity: "250m", "2", "3k", "104857600". */
function formatMilli(value: number): string {
  if (value % 1000 !== 0) return `${value}m`;
  let whole = value / 1000;
  for (const suffix of ['', 'k', 'M', 'G', 'T', 'P']) {
    if (whole % 1000 !== 0 || whole === 0 || suffix === 'P') return `${whole}${suffix}`;
    whole /= 1000;
  }
  return `${whole}E`;
}

interface MetricOutcome {
  readonly replicas: number;
  readonly name: string;
  readonly status: Any;
}

interface MetricFailure {
  readonly error: string;
  readonly condition: { reason: string; message: string };
  readonly event: RecordedEvent;
  readonly status?: Any;
}

function failure(reason: string, detail: string, error: string): MetricFailure {
  return {
    error,
    condition: { reason, message: `the HPA was unable to compute the replica count: ${detail}` },
    event: { type: 'Warning', reason, message: detail },
  };
}

/** A Resource or ContainerResource metric, from the pods' resource metrics. */
function resourceMetric(
  spec: Any,
  container: string,
  observed: Observed,
  specReplicas: number,
  options: CalculatorOptions,
): MetricOutcome | MetricFailure {
  const source = (container === '' ? spec.resource : spec.containerResource) ?? {};
  const resource = String(source.name ?? '');
  const target = source.target ?? {};
  const statusOf = (current: Any): Any =>
    container === ''
      ? { type: 'Resource', resource: { name: resource, current } }
      : { type: 'ContainerResource', containerResource: { name: resource, container, current } };
  const reason = container === '' ? 'FailedGetResourceMetric' : 'FailedGetContainerResourceMetric';
  const valueTarget = target.averageValue !== undefined && target.averageValue !== null;
  if (!valueTarget && (target.averageUtilization === undefined || target.averageUtilization === null)) {
    const message = 'invalid resource metric source: neither a utilization target nor a value target was set';
    return failure(reason, message, message);
  }
  let samples: ReturnType<typeof podSamples>;
  if (!Array.isArray(observed.podMetrics)) {
    const detail = `unable to get metrics for resource ${resource}: unable to fetch metrics from resource metrics API: ${(observed.podMetrics as { error: string }).error}`;
    return failure(reason, detail, `failed to get ${resource} ${valueTarget ? 'usage' : 'utilization'}: ${detail}`);
  }
  if (observed.podMetrics.length === 0) {
    const detail = `unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`;
    return failure(reason, detail, `failed to get ${resource} ${valueTarget ? 'usage' : 'utilization'}: ${detail}`);
  }
  samples = podSamples(observed.podMetrics, resource, container);
  const suffix = container === '' ? '' : ` of container "${container}"`;
  try {
    if (valueTarget) {
      const got = averageValueReplicas({
        currentReplicas: specReplicas,
        targetMilliValue: milliValue(target.averageValue),
        resource,
        pods: observed.pods,
        samples,
        options,
      });
      return {
        replicas: got.replicas,
        name: `${resource} resource${suffix}`,
        status: statusOf({ averageValue: formatMilli(got.usage) }),
      };
    }
    const got = resourceUtilizationReplicas({
      currentReplicas: specReplicas,
      targetUtilization: target.averageUtilization,
      resource,
      container,
      pods: observed.pods,
      samples,
      options,
    });
    return {
      replicas: got.replicas,
      name: `${resource} resource utilization (percentage of request)${suffix}`,
      status: statusOf({ averageUtilization: got.utilization, averageValue: formatMilli(got.rawUtilization) }),
    };
  } catch (err) {
    if (!(err instanceof ReplicaCalculationError)) throw err;
    return failure(
      reason,
      err.message,
      `failed to get ${resource} ${valueTarget ? 'usage' : 'utilization'}: ${err.message}`,
    );
  }
}

/**
 * Pods, Object and External metrics come from the custom and external metrics APIs (an adapter
 * registered through the aggregation layer); this controller does not read them yet, and says so.
 */
function unreadMetric(spec: Any): MetricFailure {
  const kind = String(spec.type);
  const source = spec[kind.charAt(0).toLowerCase() + kind.slice(1)] ?? {};
  const name = String(source.metric?.name ?? '');
  const api =
    kind === 'External'
      ? 'external metrics API (external.metrics.k8s.io)'
      : 'custom metrics API (custom.metrics.k8s.io)';
  const detail = `unable to get metric ${name}: the ${api} is not read by this autoscaler; only Resource and ContainerResource metrics are`;
  return failure(`FailedGet${kind}Metric`, detail, `failed to get ${kind.toLowerCase()} metric value: ${detail}`);
}

function metricOutcome(
  spec: Any,
  observed: Observed,
  specReplicas: number,
  options: CalculatorOptions,
): MetricOutcome | MetricFailure {
  switch (spec?.type) {
    case 'Resource':
      return resourceMetric(spec, '', observed, specReplicas, options);
    case 'ContainerResource':
      return resourceMetric(spec, String(spec.containerResource?.container ?? ''), observed, specReplicas, options);
    case 'Pods':
    case 'Object':
    case 'External':
      return unreadMetric(spec);
    default: {
      const message = `unknown metric source type "${String(spec?.type)}"`;
      return failure('InvalidMetricSourceType', message, message);
    }
  }
}

/** behavior's own tolerance per direction where it names one, else the controller's. */
function tolerances(behavior: Any | undefined, fallback: number): Tolerances {
  const of = (rules: Any | undefined): number => {
    if (rules?.tolerance === undefined || rules.tolerance === null) return fallback;
    try {
      return parseQuantity(rules.tolerance);
    } catch {
      return fallback;
    }
  };
  return { down: of(behavior?.scaleDown), up: of(behavior?.scaleUp) };
}

export function planAutoscaler(observed: Observed, timings: ControllerTimings): Pass {
  const { hpa, nowMs } = observed;
  const spec = (hpa.spec ?? {}) as Any;
  const previous = (hpa.status ?? {}) as Any;
  let conditions: Any[] = Array.isArray(previous.conditions) ? previous.conditions : [];
  const set = (type: ConditionType, status: 'True' | 'False', reason: string, message: string) => {
    conditions = setCondition(conditions, type, status, reason, message, nowMs);
  };
  const events: RecordedEvent[] = [];
  const keep = (currentReplicas: number | undefined, currentMetrics: unknown) => ({
    ...previous,
    ...(currentReplicas !== undefined ? { currentReplicas } : {}),
    desiredReplicas: previous.desiredReplicas ?? 0,
    ...(currentMetrics !== undefined ? { currentMetrics } : {}),
    conditions,
  });

  if ('error' in observed.scale) {
    events.push({ type: 'Warning', reason: 'FailedGetScale', message: observed.scale.error });
    set(
      'AbleToScale',
      'False',
      'FailedGetScale',
      `the HPA controller was unable to get the target's current scale: ${observed.scale.error}`,
    );
    return { status: keep(undefined, undefined), events, history: observed.history };
  }
  const scale = observed.scale;
  set('AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale");
  const currentReplicas = scale.specReplicas;
  let history: ScaleHistory =
    observed.history.recommendations.length === 0
      ? { ...observed.history, recommendations: [{ replicas: currentReplicas, atMs: nowMs }] }
      : observed.history;
  const minReplicas = typeof spec.minReplicas === 'number' ? spec.minReplicas : 1;
  const maxReplicas = typeof spec.maxReplicas === 'number' ? spec.maxReplicas : 0;
  let desiredReplicas = 0;
  let rescaleReason = '';
  let rescale = true;
  let metricStatuses: Any[] | undefined;

  if (scale.specReplicas === 0 && minReplicas !== 0) {
    rescale = false;
    set(
      'ScalingActive',
      'False',
      'ScalingDisabled',
      'scaling is disabled since the replica count of the target is zero',
    );
  } else if (currentReplicas > maxReplicas) {
    rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
    desiredReplicas = maxReplicas;
  } else if (currentReplicas < minReplicas) {
    rescaleReason = 'Current number of replicas below Spec.MinReplicas';
    desiredReplicas = minReplicas;
  } else {
    if (scale.selector === '') {
      events.push({ type: 'Warning', reason: 'SelectorRequired', message: 'selector is required' });
      set('ScalingActive', 'False', 'InvalidSelector', "the HPA target's scale is missing a selector");
      events.push({ type: 'Warning', reason: 'FailedComputeMetricsReplicas', message: 'selector is required' });
      return { status: keep(currentReplicas, undefined), events, history };
    }
    if (observed.selectorProblem !== undefined) {
      const { reason, message } = observed.selectorProblem;
      events.push({ type: 'Warning', reason, message });
      set('ScalingActive', 'False', reason, message);
      events.push({ type: 'Warning', reason: 'FailedComputeMetricsReplicas', message });
      return { status: keep(currentReplicas, undefined), events, history };
    }
    const options: CalculatorOptions = { ...timings, tolerance: tolerances(spec.behavior, timings.tolerance), nowMs };
    const metrics: Any[] = Array.isArray(spec.metrics) ? spec.metrics : [];
    const statuses: Any[] = [];
    let proposal = 0;
    let proposalMetric = '';
    let invalid = 0;
    let firstFailure: MetricFailure | undefined;
    for (const metric of metrics) {
      const outcome = metricOutcome(metric, observed, scale.specReplicas, options);
      if ('error' in outcome) {
        events.push(outcome.event);
        statuses.push({ type: '' }); // upstream leaves a failed metric's status empty
        invalid++;
        firstFailure ??= outcome;
        continue;
      }
      statuses.push(outcome.status);
      if (proposal === 0 || outcome.replicas > proposal) {
        proposal = outcome.replicas;
        proposalMetric = outcome.name;
      }
    }
    metricStatuses = statuses;
    // every metric failed, or some did and the rest would scale down: nothing changes
    if (firstFailure !== undefined && (invalid >= metrics.length || proposal < scale.specReplicas)) {
      set('ScalingActive', 'False', firstFailure.condition.reason, firstFailure.condition.message);
      events.push({
        type: 'Warning',
        reason: 'FailedComputeMetricsReplicas',
        message: `invalid metrics (${invalid} invalid out of ${metrics.length}), first error is: ${firstFailure.error}`,
      });
      return { status: keep(currentReplicas, statuses), events, history };
    }
    set(
      'ScalingActive',
      'True',
      'ValidMetricFound',
      `the HPA was able to successfully calculate a replica count from ${proposalMetric}`,
    );
    desiredReplicas = proposal;
    if (desiredReplicas > currentReplicas) rescaleReason = `${proposalMetric} above target`;
    if (desiredReplicas < currentReplicas) rescaleReason = 'All metrics below target';
    const normalized = normalizeDesiredReplicas({
      currentReplicas,
      desiredReplicas,
      minReplicas,
      maxReplicas,
      behavior: spec.behavior,
      downscaleStabilizationMs: timings.downscaleStabilizationMs,
      nowMs,
      history,
    });
    for (const c of normalized.conditions) set(c.type, c.status, c.reason, c.message);
    desiredReplicas = normalized.replicas;
    history = normalized.history;
    rescale = desiredReplicas !== currentReplicas;
  }

  const historyWithoutRescale = history;
  if (rescale) {
    set(
      'AbleToScale',
      'True',
      'SucceededRescale',
      `the HPA controller was able to update the target scale to ${desiredReplicas}`,
    );
    events.push({
      type: 'Normal',
      reason: 'SuccessfulRescale',
      message: `New size: ${desiredReplicas}; reason: ${rescaleReason}`,
    });
    history = recordScale(history, spec.behavior, currentReplicas, desiredReplicas, nowMs);
  } else {
    desiredReplicas = currentReplicas;
  }
  const status: Any = {
    ...(previous.observedGeneration !== undefined ? { observedGeneration: previous.observedGeneration } : {}),
    ...(rescale
      ? { lastScaleTime: apiTime(new Date(nowMs)) }
      : previous.lastScaleTime !== undefined
        ? { lastScaleTime: previous.lastScaleTime }
        : {}),
    currentReplicas,
    desiredReplicas,
    ...(metricStatuses !== undefined && metricStatuses.length > 0 ? { currentMetrics: metricStatuses } : {}),
    conditions,
  };
  return {
    ...(rescale ? { rescale: { replicas: desiredReplicas, reason: rescaleReason }, historyWithoutRescale } : {}),
    status,
    events,
    history,
  };
}

/**
 * What to write instead when the scale update of a pass failed: AbleToScale False, a
 * FailedRescale event, the count as it is, and the history without the scale that did not happen.
 */
export function rescaleFailed(observed: Observed, pass: Pass, error: string, currentReplicas: number): Pass {
  const previous = (observed.hpa.status ?? {}) as Any;
  const conditions = setCondition(
    pass.status.conditions ?? [],
    'AbleToScale',
    'False',
    'FailedUpdateScale',
    `the HPA controller was unable to update the target scale: ${error}`,
    observed.nowMs,
  );
  const events = pass.events.filter((e) => e.reason !== 'SuccessfulRescale');
  events.push({
    type: 'Warning',
    reason: 'FailedRescale',
    message: `New size: ${pass.rescale?.replicas ?? currentReplicas}; reason: ${pass.rescale?.reason ?? ''}; error: ${error}`,
  });
  return {
    status: {
      ...pass.status,
      currentReplicas,
      desiredReplicas: previous.desiredReplicas ?? 0,
      ...(previous.lastScaleTime !== undefined ? { lastScaleTime: previous.lastScaleTime } : {}),
      conditions,
    },
    events,
    history: pass.historyWithoutRescale ?? observed.history,
  };
}
