/**
 * HorizontalPodAutoscaler defaults, as upstream's autoscaling/v2 and v1 defaulting: at least one
 * replica, CPU at 80 % when no metric is named, and a `behavior` that names some rules gets every
 * rule it leaves out (scale up by 4 pods or 100 % per 15 s, whichever is more, at once; scale down
 * by 100 % per 15 s). The scale-down stabilization window stays unset: the controller's
 * `--horizontal-pod-autoscaler-downscale-stabilization` (5 minutes) fills it, as upstream's does.
 */
import { defaultCpuUtilization } from '../api/hpa-conversion.ts';

type Any = Record<string, any>;

const isObject = (value: unknown): value is Any => typeof value === 'object' && value !== null && !Array.isArray(value);

function scaleUpRules(): Any {
  return {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
  };
}

function scaleDownRules(): Any {
  return { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
}

/** The defaults with what `rules` sets laid over them (upstream's copyHPAScalingRules). */
function withDefaults(rules: unknown, defaults: Any): Any {
  if (!isObject(rules)) return defaults;
  const out = { ...defaults };
  for (const key of ['selectPolicy', 'stabilizationWindowSeconds', 'policies'])
    if (rules[key] !== undefined && rules[key] !== null) out[key] = rules[key];
  return { ...rules, ...out };
}

/** Fills an autoscaling/v2 object's defaults in place. */
export function defaultHorizontalPodAutoscalerV2(hpa: Any): void {
  if (!isObject(hpa.spec)) return;
  const spec = hpa.spec;
  spec.minReplicas ??= 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0)
    spec.metrics = [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: defaultCpuUtilization } },
      },
    ];
  if (isObject(spec.behavior)) {
    spec.behavior.scaleUp = withDefaults(spec.behavior.scaleUp, scaleUpRules());
    spec.behavior.scaleDown = withDefaults(spec.behavior.scaleDown, scaleDownRules());
  }
}

/** Fills an autoscaling/v1 object's defaults in place (its metric is defaulted by the conversion). */
export function defaultHorizontalPodAutoscalerV1(hpa: Any): void {
  if (isObject(hpa.spec)) hpa.spec.minReplicas ??= 1;
}
