/**
 * LimitRange admission for pods: containers without a limit get the range's `default`, without a
 * request its `defaultRequest` (or the limit); then every container must stay within min and max.
 * Pure: takes the pod and the namespace's ranges, changes the pod, returns the violations.
 */
import type { Quantity } from '../../kube/corev1.ts';
import { resourceAmount } from '../../kube/quantity.ts';

type Any = Record<string, any>;

interface ContainerLimit {
  type?: string;
  default?: Record<string, Quantity>;
  defaultRequest?: Record<string, Quantity>;
  max?: Record<string, Quantity>;
  min?: Record<string, Quantity>;
}

export function applyLimitRanges(pod: Any, ranges: readonly Any[]): string[] {
  const violations: string[] = [];
  const limits: ContainerLimit[] = ranges.flatMap((r) =>
    ((r.spec?.limits ?? []) as ContainerLimit[]).filter((l) => l.type === 'Container'),
  );
  if (limits.length === 0) return violations;
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])] as Any[];
  for (const limit of limits) {
    for (const c of containers) {
      const resources = (c.resources ??= {});
      for (const [name, value] of Object.entries(limit.default ?? {})) {
        resources.limits ??= {};
        resources.limits[name] ??= value;
      }
      for (const [name, value] of Object.entries(limit.defaultRequest ?? {})) {
        resources.requests ??= {};
        resources.requests[name] ??= value;
      }
      // Upstream: a container with a limit but no request asks for what it may use.
      for (const [name, value] of Object.entries((resources.limits ?? {}) as Record<string, Quantity>)) {
        resources.requests ??= {};
        resources.requests[name] ??= value;
      }
    }
  }
  for (const limit of limits) {
    for (const c of containers) {
      const requests = (c.resources?.requests ?? {}) as Record<string, Quantity>;
      const maxima = (c.resources?.limits ?? {}) as Record<string, Quantity>;
      for (const [name, max] of Object.entries(limit.max ?? {})) {
        const have = maxima[name];
        if (have === undefined)
          violations.push(`maximum ${name} usage per Container is ${max}.  No limit is specified`);
        else if (resourceAmount(name, have) > resourceAmount(name, max))
          violations.push(`maximum ${name} usage per Container is ${max}, but limit is ${have}`);
      }
      for (const [name, min] of Object.entries(limit.min ?? {})) {
        const have = requests[name];
        if (have === undefined)
          violations.push(`minimum ${name} usage per Container is ${min}.  No request is specified`);
        else if (resourceAmount(name, have) < resourceAmount(name, min))
          violations.push(`minimum ${name} usage per Container is ${min}, but request is ${have}`);
      }
    }
  }
  return violations;
}
