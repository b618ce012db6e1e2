/**
 * The TARGETS cell of `kubectl get hpa`, as upstream's printer writes it from the v2 form: each
 * metric as `current/target` (`cpu: 42%/50%`, `memory: 120Mi/200Mi`, `<unknown>` before the
 * first measurement), at most two, then `+ N more...`.
 */
type Any = Record<string, any>;

const shownMetrics = 2;

const text = (value: unknown): string => (value === undefined || value === null ? '<unknown>' : String(value));

function resourceTarget(name: string, spec: Any, current: Any | undefined): string {
  if (spec.target?.averageValue !== undefined && spec.target?.averageValue !== null)
    return `${name}: ${text(current?.current?.averageValue)}/${spec.target.averageValue}`;
  const now = current?.current?.averageUtilization;
  const target = spec.target?.averageUtilization;
  return `${name}: ${now === undefined || now === null ? '<unknown>' : `${now}%`}/${target === undefined || target === null ? '<auto>' : `${target}%`}`;
}

function valueTarget(target: Any | undefined, current: Any | undefined): string {
  if (target?.averageValue !== undefined && target?.averageValue !== null)
    return `${text(current?.averageValue)}/${target.averageValue} (avg)`;
  return `${text(current?.value)}/${text(target?.value)}`;
}

function metricText(spec: Any, status: Any | undefined): string {
  switch (spec.type) {
    case 'Resource':
      return resourceTarget(String(spec.resource?.name ?? ''), spec.resource ?? {}, status?.resource);
    case 'ContainerResource':
      return resourceTarget(
        `${spec.containerResource?.name ?? ''} of container "${spec.containerResource?.container ?? ''}"`,
        spec.containerResource ?? {},
        status?.containerResource,
      );
    case 'Pods':
      return `${text(status?.pods?.current?.averageValue)}/${text(spec.pods?.target?.averageValue)}`;
    case 'Object':
      return valueTarget(spec.object?.target, status?.object?.current);
    case 'External':
      return valueTarget(spec.external?.target, status?.external?.current);
    default:
      return '<unknown type>';
  }
}

export function hpaTargets(hpa: Any): string {
  const specs: Any[] = Array.isArray(hpa.spec?.metrics) ? hpa.spec.metrics : [];
  if (specs.length === 0) return '<none>';
  const statuses: Any[] = Array.isArray(hpa.status?.currentMetrics) ? hpa.status.currentMetrics : [];
  const list = specs.map((spec, i) => metricText(spec ?? {}, statuses[i]));
  if (list.length <= shownMetrics) return list.join(', ');
  return `${list.slice(0, shownMetrics).join(', ')} + ${list.length - shownMetrics} more...`;
}
