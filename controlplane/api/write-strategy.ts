/**
 * Upstream's write strategies (PrepareForCreate / PrepareForUpdate): what the server itself decides
 * about an object before admission sees it, whatever the client sent. One table, kind by kind, that
 * the registry applies to every create and every update of the main resource.
 *
 * - A resource with a status subresource owns its status: a create starts from an empty status
 *   (the defaults then write what upstream writes, e.g. a Pod's Pending phase and QoS class), an
 *   update of the main resource keeps the stored status. Only /status changes it. Nodes are the
 *   exception upstream makes: a kubelet registers its Node with its status in the create.
 * - A Secret's stringData is folded into data (base64, stringData winning on the same key) and
 *   never stored, as upstream's v1 conversion does on every write.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { ResourceInfo } from './resources.ts';

type Any = Record<string, any>;

interface WriteStrategy {
  /** Fixes up a new object in place. */
  prepareForCreate(object: Any): void;
  /** Fixes up the next version of an object in place, from the stored one. */
  prepareForUpdate(object: Any, old: Any): void;
}

function ownsStatus(info: ResourceInfo): boolean {
  return info.subresources.includes('status');
}

/** Status written by the client on create: dropped where the server owns it. */
function resetStatusOnCreate(info: ResourceInfo, object: Any): void {
  if (!ownsStatus(info)) return;
  if (info.group === '' && info.resource === 'nodes') return;
  delete object.status;
}

/** Status in an update of the main resource: the stored one, whatever the client sent. */
function keepStatusOnUpdate(info: ResourceInfo, object: Any, old: Any): void {
  if (!ownsStatus(info)) return;
  if (old.status !== undefined) object.status = old.status;
  else delete object.status;
}

/** Secret.stringData is a write-only convenience: merged into data, never stored. */
function foldStringData(secret: Any): void {
  const stringData: unknown = secret.stringData;
  delete secret.stringData;
  if (stringData === null || typeof stringData !== 'object' || Array.isArray(stringData)) return;
  const entries = Object.entries(stringData as Record<string, unknown>);
  if (entries.length === 0) return;
  const data: Record<string, unknown> =
    secret.data !== null && typeof secret.data === 'object' && !Array.isArray(secret.data) ? { ...secret.data } : {};
  for (const [key, value] of entries)
    data[key] = Buffer.from(typeof value === 'string' ? value : String(value), 'utf8').toString('base64');
  secret.data = data;
}

/**
 * autoscaling/v1 carries the autoscaler's observed metrics and conditions in annotations (see
 * hpa-conversion.ts): they are status, so a create drops them and an update of the main resource
 * keeps the stored ones, as upstream's strategy keeps the status it converted them into.
 */
const v1StatusAnnotations = [
  'autoscaling.alpha.kubernetes.io/conditions',
  'autoscaling.alpha.kubernetes.io/current-metrics',
];

function keepV1StatusAnnotations(object: Any, old: Any | undefined): void {
  if (object.apiVersion !== 'autoscaling/v1') return;
  const annotations: Record<string, string> = { ...(object.metadata?.annotations ?? {}) };
  for (const key of v1StatusAnnotations) {
    const stored = old?.metadata?.annotations?.[key];
    if (stored === undefined) delete annotations[key];
    else annotations[key] = stored;
  }
  if (object.metadata === undefined) return;
  if (Object.keys(annotations).length > 0) object.metadata.annotations = annotations;
  else delete object.metadata.annotations;
}

/** Extra steps per resource ("group/resource"), after the status rules that every kind shares. */
const perResource: Record<string, Partial<WriteStrategy>> = {
  '/secrets': {
    prepareForCreate: foldStringData,
    prepareForUpdate: (object) => foldStringData(object),
  },
  'autoscaling/horizontalpodautoscalers': {
    prepareForCreate: (object) => keepV1StatusAnnotations(object, undefined),
    prepareForUpdate: keepV1StatusAnnotations,
  },
};

function writeStrategyFor(info: ResourceInfo): WriteStrategy {
  const extra = perResource[`${info.group}/${info.resource}`] ?? {};
  return {
    prepareForCreate(object) {
      resetStatusOnCreate(info, object);
      extra.prepareForCreate?.(object);
    },
    prepareForUpdate(object, old) {
      keepStatusOnUpdate(info, object, old);
      extra.prepareForUpdate?.(object, old);
    },
  };
}

/** Applies the create strategy of `info` to `object` (in place). */
export function prepareForCreate(info: ResourceInfo, object: KubeObject): void {
  writeStrategyFor(info).prepareForCreate(object as Any);
}

/** Applies the update strategy of `info` for a write of the main resource (in place). */
export function prepareForUpdate(info: ResourceInfo, object: KubeObject, old: KubeObject): void {
  writeStrategyFor(info).prepareForUpdate(object as Any, old as Any);
}

/** Subresources whose writes the registry stores, each taking only its own part of the request. */
export type StoredSubresource = 'status' | 'approval' | 'ephemeralcontainers';

export function storedSubresource(subresource: string | undefined): StoredSubresource | undefined {
  return subresource === 'status' || subresource === 'approval' || subresource === 'ephemeralcontainers'
    ? subresource
    : undefined;
}

/**
 * A write through pods/<name>/ephemeralcontainers (upstream's ephemeral-containers strategy): the
 * stored pod with the request's spec.ephemeralContainers, every other change of the request dropped.
 */
export function withEphemeralContainersOf(current: KubeObject, proposed: KubeObject): KubeObject {
  const next = structuredClone(current) as Any;
  const wanted: unknown = (proposed as Any).spec?.ephemeralContainers;
  next.spec ??= {};
  if (wanted === undefined || wanted === null) delete next.spec.ephemeralContainers;
  else next.spec.ephemeralContainers = structuredClone(wanted);
  return next as KubeObject;
}
