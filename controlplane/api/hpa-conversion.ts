/**
 * autoscaling/v2 HorizontalPodAutoscaler ⇄ autoscaling/v1, as upstream converts them: one stored
 * object (the v2 form, under /registry/horizontalpodautoscalers) served through both versions.
 *
 * autoscaling/v1 has one metric (`targetCPUUtilizationPercentage`) and one observed value
 * (`currentCPUUtilizationPercentage`); what it cannot say travels in annotations, in v1's own
 * (v2beta1-shaped) metric types, so that a v1 client reading and writing back an object loses
 * nothing: the other metrics, the observed metrics, the conditions and `behavior`.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';

type Any = Record<string, any>;

const metricSpecsAnnotation = 'autoscaling.alpha.kubernetes.io/metrics';
const metricStatusesAnnotation = 'autoscaling.alpha.kubernetes.io/current-metrics';
const conditionsAnnotation = 'autoscaling.alpha.kubernetes.io/conditions';
const behaviorAnnotation = 'autoscaling.alpha.kubernetes.io/behavior';

/** What an HPA aims at when it names no metric (upstream's DefaultCPUUtilization). */
export const defaultCpuUtilization = 80;

const isObject = (value: unknown): value is Any => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Copies the set fields only: Go leaves nil pointers out of the JSON. */
function pick(entries: Record<string, unknown>): Any {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined && v !== null));
}

const isCpuUtilization = (metric: Any): boolean =>
  metric.type === 'Resource' && metric.resource?.name === 'cpu' && isSet(metric.resource?.target?.averageUtilization);
const isSet = (value: unknown): boolean => value !== undefined && value !== null;

/** Where each field of v1's metric types lives in the v2 form, per metric source type. */
type FieldPaths = Readonly<Record<string, string>>;

const metricIdentifier = { metricName: 'metric.name', selector: 'metric.selector' };
const specPaths: Readonly<Record<string, FieldPaths>> = {
  Resource: {
    name: 'name',
    targetAverageUtilization: 'target.averageUtilization',
    targetAverageValue: 'target.averageValue',
  },
  ContainerResource: {
    name: 'name',
    container: 'container',
    targetAverageUtilization: 'target.averageUtilization',
    targetAverageValue: 'target.averageValue',
  },
  Pods: { ...metricIdentifier, targetAverageValue: 'target.averageValue' },
  Object: {
    ...metricIdentifier,
    target: 'describedObject',
    targetValue: 'target.value',
    averageValue: 'target.averageValue',
  },
  External: {
    metricName: 'metric.name',
    metricSelector: 'metric.selector',
    targetValue: 'target.value',
    targetAverageValue: 'target.averageValue',
  },
};
const statusPaths: Readonly<Record<string, FieldPaths>> = {
  Resource: {
    name: 'name',
    currentAverageUtilization: 'current.averageUtilization',
    currentAverageValue: 'current.averageValue',
  },
  ContainerResource: {
    name: 'name',
    container: 'container',
    currentAverageUtilization: 'current.averageUtilization',
    currentAverageValue: 'current.averageValue',
  },
  Pods: { ...metricIdentifier, currentAverageValue: 'current.averageValue' },
  Object: {
    ...metricIdentifier,
    target: 'describedObject',
    currentValue: 'current.value',
    averageValue: 'current.averageValue',
  },
  External: {
    metricName: 'metric.name',
    metricSelector: 'metric.selector',
    currentValue: 'current.value',
    currentAverageValue: 'current.averageValue',
  },
};

/** The field of a metric source that holds its details: `resource`, `pods`, `containerResource`... */
const sourceField = (type: string): string => type.charAt(0).toLowerCase() + type.slice(1);

function readPath(object: Any | undefined, path: string): unknown {
  let value: unknown = object;
  for (const key of path.split('.')) value = isObject(value) ? value[key] : undefined;
  return value;
}

function writePath(object: Any, path: string, value: unknown): void {
  if (value === undefined || value === null) return;
  const keys = path.split('.');
  let at = object;
  for (const key of keys.slice(0, -1)) at = at[key] ??= {};
  at[keys[keys.length - 1]!] = value;
}

/** v2's target type, which v1 leaves to be read from which of its target fields is set. */
function targetType(type: string, v1: Any): string {
  switch (type) {
    case 'Resource':
    case 'ContainerResource':
      return isSet(v1.targetAverageUtilization) ? 'Utilization' : 'AverageValue';
    case 'Object':
      return isSet(v1.averageValue) ? 'AverageValue' : 'Value';
    case 'External':
      return isSet(v1.targetValue) ? 'Value' : 'AverageValue';
    default:
      return 'AverageValue';
  }
}

/** A v2 MetricSpec or MetricStatus in v1's metric types (the annotations' form). */
function toV1(metric: Any, paths: Readonly<Record<string, FieldPaths>>): Any {
  const fields = paths[metric.type];
  if (fields === undefined) return metric;
  const source = metric[sourceField(metric.type)];
  const out: Any = {};
  for (const [v1Field, path] of Object.entries(fields)) writePath(out, v1Field, readPath(source, path));
  return { type: metric.type, [sourceField(metric.type)]: out };
}

/** A v1 (annotation) MetricSpec or MetricStatus in the v2 form; `spec` adds the target's type. */
function fromV1(metric: Any, paths: Readonly<Record<string, FieldPaths>>, spec: boolean): Any {
  const fields = paths[metric.type];
  if (fields === undefined) return metric;
  const source: Any = isObject(metric[sourceField(metric.type)]) ? metric[sourceField(metric.type)] : {};
  const out: Any = {};
  if (spec) writePath(out, 'target.type', targetType(metric.type, source));
  for (const [v1Field, path] of Object.entries(fields)) writePath(out, path, source[v1Field]);
  return { type: metric.type, [sourceField(metric.type)]: out };
}

const metricSpecToV1 = (metric: Any): Any => toV1(metric, specPaths);
const metricSpecFromV1 = (metric: Any): Any => fromV1(metric, specPaths, true);
const metricStatusToV1 = (status: Any): Any => toV1(status, statusPaths);
const metricStatusFromV1 = (status: Any): Any => fromV1(status, statusPaths, false);

/** The stored (v2) form as autoscaling/v1 serves it. */
export function hpaV2ToV1(hpa: KubeObject): KubeObject {
  const spec = (hpa.spec ?? {}) as Any;
  const status = hpa.status as Any | undefined;
  const metrics = (Array.isArray(spec.metrics) ? spec.metrics : []).filter(isObject);
  const cpu = metrics.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
  const others = metrics.filter((m) => !isCpuUtilization(m));
  const currentMetrics = (Array.isArray(status?.currentMetrics) ? status.currentMetrics : []).filter(isObject);
  const conditions = Array.isArray(status?.conditions) ? status.conditions : [];
  const annotations: Record<string, string> = { ...(hpa.metadata.annotations ?? {}) };
  if (others.length > 0) annotations[metricSpecsAnnotation] = JSON.stringify(others.map(metricSpecToV1));
  if (currentMetrics.length > 0)
    annotations[metricStatusesAnnotation] = JSON.stringify(currentMetrics.map(metricStatusToV1));
  if (conditions.length > 0) annotations[conditionsAnnotation] = JSON.stringify(conditions);
  if (isObject(spec.behavior)) annotations[behaviorAnnotation] = JSON.stringify(spec.behavior);
  const metadata = { ...hpa.metadata };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  const cpuStatus = currentMetrics.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
  const out: KubeObject = {
    ...hpa,
    apiVersion: 'autoscaling/v1',
    metadata,
    spec: pick({
      scaleTargetRef: spec.scaleTargetRef,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      targetCPUUtilizationPercentage: cpu?.resource?.target?.averageUtilization,
    }),
  };
  if (status !== undefined)
    out.status = pick({
      observedGeneration: status.observedGeneration,
      lastScaleTime: status.lastScaleTime,
      currentReplicas: status.currentReplicas ?? 0,
      desiredReplicas: status.desiredReplicas ?? 0,
      currentCPUUtilizationPercentage: cpuStatus?.resource?.current?.averageUtilization,
    });
  return out;
}

/** Reads one of the annotations that carry v2 fields; a malformed one is the client's error (400). */
function annotationJson(annotations: Record<string, string>, key: string): unknown {
  const text = annotations[key];
  if (text === undefined) return undefined;
  delete annotations[key];
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError('BadRequest', `unable to read the ${key} annotation: ${(err as Error).message}`);
  }
}

function listOfObjects(value: unknown, key: string): Any[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isObject))
    throw new ApiError('BadRequest', `unable to read the ${key} annotation: not a list of objects`);
  return value;
}

/** An autoscaling/v1 object in the stored (v2) form. */
export function hpaV1ToV2(hpa: KubeObject): KubeObject {
  const spec = (hpa.spec ?? {}) as Any;
  const status = hpa.status as Any | undefined;
  const annotations: Record<string, string> = { ...(hpa.metadata.annotations ?? {}) };
  const others = listOfObjects(annotationJson(annotations, metricSpecsAnnotation), metricSpecsAnnotation);
  const observed = annotationJson(annotations, metricStatusesAnnotation);
  const conditions = annotationJson(annotations, conditionsAnnotation);
  const behavior = annotationJson(annotations, behaviorAnnotation);
  const metrics = others.map(metricSpecFromV1);
  const target = isSet(spec.targetCPUUtilizationPercentage) ? spec.targetCPUUtilizationPercentage : undefined;
  // v1 once defaulted in the controller: no metric at all means CPU at 80 %
  if (target !== undefined || metrics.length === 0)
    metrics.push({
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: target ?? defaultCpuUtilization } },
    });
  const metadata = { ...hpa.metadata };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  const out: KubeObject = {
    ...hpa,
    apiVersion: 'autoscaling/v2',
    metadata,
    spec: pick({
      scaleTargetRef: spec.scaleTargetRef,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      metrics,
      behavior: isObject(behavior) ? behavior : undefined,
    }),
  };
  if (status !== undefined) {
    const currentMetrics =
      observed !== undefined
        ? listOfObjects(observed, metricStatusesAnnotation).map(metricStatusFromV1)
        : isSet(status.currentCPUUtilizationPercentage)
          ? [
              {
                type: 'Resource',
                resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } },
              },
            ]
          : undefined;
    out.status = pick({
      observedGeneration: status.observedGeneration,
      lastScaleTime: status.lastScaleTime,
      currentReplicas: status.currentReplicas ?? 0,
      desiredReplicas: status.desiredReplicas ?? 0,
      currentMetrics,
      conditions: Array.isArray(conditions) ? conditions : undefined,
    });
  }
  return out;
}
