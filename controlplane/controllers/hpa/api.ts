/**
 * What the autoscaler controller reads and writes, as a small seam: the target's scale
 * subresource, its pods, their resource metrics (metrics.k8s.io, as upstream's controller reads
 * them through the API), the autoscaler's status and its events. `apiAutoscalerSeam` is the real
 * one over HTTP; tests use a stateful fake of the same interface.
 */
import { ApiError } from '../../../kube/errors.ts';
import type { KubeClient } from '../../../kube/client.ts';
import { resourcePath, type ResourceRef } from '../../../kube/resource-ref.ts';
import type { KubeObject } from '../../../kube/types.ts';
import type { EventRecorder, EventType } from '../events.ts';

type Any = Record<string, any>;

export interface TargetRef {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly name: string;
}

export interface TargetScale {
  readonly specReplicas: number;
  readonly statusReplicas: number;
  /** status.selector: the label selector of the target's pods, in text form ("" when it has none). */
  readonly selector: string;
}

export interface AutoscalerSeam {
  /** Reads `<target>/scale`; throws (an ApiError or an Error) with upstream's message when it cannot. */
  getScale(namespace: string, target: TargetRef): Promise<TargetScale>;
  /** Sets `<target>/scale`'s spec.replicas. */
  setScale(namespace: string, target: TargetRef, replicas: number): Promise<void>;
  listPods(namespace: string, selector: string): Promise<KubeObject[]>;
  /** metrics.k8s.io/v1beta1 PodMetrics of the selected pods. */
  listPodMetrics(namespace: string, selector: string): Promise<Any[]>;
  /** Writes the status subresource of the (autoscaling/v2) autoscaler. */
  writeStatus(hpa: KubeObject): Promise<void>;
  recordEvent(hpa: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

export const autoscalersRef: ResourceRef = {
  group: 'autoscaling',
  version: 'v2',
  resource: 'horizontalpodautoscalers',
  namespaced: true,
};
const podMetricsRef: ResourceRef = { group: 'metrics.k8s.io', version: 'v1beta1', resource: 'pods', namespaced: true };
const podsRef: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };

function groupVersion(apiVersion: string | undefined): { group: string; version: string } {
  const text = apiVersion ?? '';
  const slash = text.indexOf('/');
  return slash === -1
    ? { group: '', version: text || 'v1' }
    : { group: text.slice(0, slash), version: text.slice(slash + 1) };
}

/** How long a group version's resource list is trusted before it is read again (custom resources come and go). */
const discoveryTtlMs = 30_000;

export function apiAutoscalerSeam(client: KubeClient, events: EventRecorder): AutoscalerSeam {
  const discovered = new Map<string, { at: number; resources: Any[] }>();

  /** The target's resource, found by kind in its group version's discovery document. */
  async function resourceOf(target: TargetRef): Promise<ResourceRef> {
    const { group, version } = groupVersion(target.apiVersion);
    const key = `${group}/${version}`;
    let entry = discovered.get(key);
    const fresh = entry !== undefined && Date.now() - entry.at < discoveryTtlMs;
    const find = (resources: Any[]) =>
      resources.find((r) => r?.kind === target.kind && typeof r.name === 'string' && !r.name.includes('/'));
    if (!fresh || find(entry!.resources) === undefined) {
      const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
      try {
        const list = await client.getPath<{ resources?: Any[] }>(path);
        entry = { at: Date.now(), resources: Array.isArray(list?.resources) ? list.resources : [] };
        discovered.set(key, entry);
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 404) throw err;
        entry = { at: Date.now(), resources: [] };
      }
    }
    const found = find(entry!.resources);
    if (found === undefined) throw new Error(`no matches for kind "${target.kind}" in group "${group}"`);
    return { group, version, resource: found.name, namespaced: found.namespaced !== false };
  }

  return {
    async getScale(namespace, target) {
      const ref = await resourceOf(target);
      const scale = await client.getPath<Any>(resourcePath(ref, namespace, target.name, 'scale'));
      return {
        specReplicas: typeof scale?.spec?.replicas === 'number' ? scale.spec.replicas : 0,
        statusReplicas: typeof scale?.status?.replicas === 'number' ? scale.status.replicas : 0,
        selector: typeof scale?.status?.selector === 'string' ? scale.status.selector : '',
      };
    },
    async setScale(namespace, target, replicas) {
      const ref = await resourceOf(target);
      await client.patch(ref, target.name, { spec: { replicas } }, { namespace, subresource: 'scale', type: 'merge' });
    },
    async listPods(namespace, selector) {
      return (await client.list(podsRef, { namespace, labelSelector: selector })).items;
    },
    async listPodMetrics(namespace, selector) {
      return (await client.list(podMetricsRef, { namespace, labelSelector: selector })).items as Any[];
    },
    async writeStatus(hpa) {
      await client.updateStatus(autoscalersRef, hpa);
    },
    recordEvent: (hpa, type, reason, message) => events.record(hpa, type, reason, message),
  };
}
