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

/**
 * The group of a scale target's apiVersion, as upstream's ParseGroupVersion reads it (at most one
 * slash). Upstream maps the target by group and kind only, so the version is not used; the group
 * becomes a URL path segment of requests made with the controller's own rights, so anything but a
 * plain group name is refused here, never sent.
 */
function groupOf(target: TargetRef): string {
  const text = target.apiVersion ?? '';
  const parts = text.split('/');
  if (parts.length > 2) throw new Error(`unexpected GroupVersion string: ${text}`);
  const group = parts.length === 2 ? parts[0]! : '';
  if (group !== '' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(group))
    throw new Error(`no matches for kind "${target.kind}" in group "${group}"`);
  return group;
}

/** How long a discovery document is trusted before it is read again (custom resources come and go). */
const discoveryTtlMs = 30_000;

export function apiAutoscalerSeam(client: KubeClient, events: EventRecorder): AutoscalerSeam {
  const discovered = new Map<string, { at: number; document: Any }>();

  /** A discovery document, from memory while fresh; a missing one (404) reads as empty. */
  async function discovery(path: string, fresh: boolean): Promise<Any> {
    const kept = discovered.get(path);
    if (fresh && kept !== undefined && Date.now() - kept.at < discoveryTtlMs) return kept.document;
    let document: Any = {};
    try {
      document = (await client.getPath<Any>(path)) ?? {};
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 404) throw err;
    }
    discovered.set(path, { at: Date.now(), document });
    return document;
  }

  /** The target's resource: its kind in its group, the preferred version first (upstream's RESTMapper). */
  async function lookup(target: TargetRef, group: string, fresh: boolean): Promise<ResourceRef | undefined> {
    const versions: string[] = group === '' ? ['v1'] : [];
    if (group !== '') {
      const document = await discovery(`/apis/${group}`, fresh);
      const preferred = document.preferredVersion?.version;
      const listed = Array.isArray(document.versions) ? document.versions.map((v: Any) => v?.version) : [];
      for (const v of [preferred, ...listed]) if (typeof v === 'string' && !versions.includes(v)) versions.push(v);
    }
    for (const version of versions) {
      if (!/^[a-z0-9]+$/.test(version)) continue;
      const document = await discovery(group === '' ? `/api/${version}` : `/apis/${group}/${version}`, fresh);
      const resources: Any[] = Array.isArray(document.resources) ? document.resources : [];
      const found = resources.find(
        (r) => r?.kind === target.kind && typeof r.name === 'string' && !r.name.includes('/'),
      );
      if (found !== undefined) return { group, version, resource: found.name, namespaced: found.namespaced !== false };
    }
    return undefined;
  }

  async function resourceOf(target: TargetRef): Promise<ResourceRef> {
    const group = groupOf(target);
    // a kind not found in what memory holds may be new (a custom resource): read discovery again
    const found = (await lookup(target, group, true)) ?? (await lookup(target, group, false));
    if (found === undefined) throw new Error(`no matches for kind "${target.kind}" in group "${group}"`);
    return found;
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

/**
 * The seam with `fence` checked before each write it makes itself (scale and status; events go
 * through the controllers' fenced client already): a deposed leader's autoscaler changes nothing
 * between losing its lease and being stopped. Without a fence (no leader election) it is the seam.
 */
export function fencedAutoscalerSeam(seam: AutoscalerSeam, fence: (() => void) | undefined): AutoscalerSeam {
  if (fence === undefined) return seam;
  return {
    ...seam,
    setScale: async (namespace, target, replicas) => {
      fence();
      await seam.setScale(namespace, target, replicas);
    },
    writeStatus: async (hpa) => {
      fence();
      await seam.writeStatus(hpa);
    },
  };
}
