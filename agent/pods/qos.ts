/**
 * The pod's QoS class, computed as the API defines it: only CPU and memory count, a request left
 * out defaults to the limit, and quantities of zero count as unset.
 *   BestEffort  no container requests or limits CPU or memory
 *   Guaranteed  every container has CPU and memory limits, and its requests equal them
 *   Burstable   anything else
 */
import type { Container, PodQOSClass, PodSpec } from '../../kube/corev1.ts';
import { parseQuantity } from '../../kube/quantity.ts';

const qosResources = ['cpu', 'memory'] as const;

function positive(list: Record<string, string | number> | undefined, resource: string): number | undefined {
  const raw = list?.[resource];
  if (raw === undefined) return undefined;
  const value = parseQuantity(raw);
  return value > 0 ? value : undefined;
}

function containerIsGuaranteed(container: Container): boolean {
  return qosResources.every((resource) => {
    const limit = positive(container.resources?.limits, resource);
    const request = positive(container.resources?.requests, resource) ?? limit;
    return limit !== undefined && request === limit;
  });
}

function containerHasAny(container: Container): boolean {
  return qosResources.some(
    (resource) =>
      positive(container.resources?.requests, resource) !== undefined ||
      positive(container.resources?.limits, resource) !== undefined,
  );
}

export function qosClassOf(spec: PodSpec): PodQOSClass {
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  if (!all.some(containerHasAny)) return 'BestEffort';
  return all.every(containerIsGuaranteed) ? 'Guaranteed' : 'Burstable';
}
