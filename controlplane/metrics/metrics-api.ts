/**
 * The resource metrics API, `metrics.k8s.io/v1beta1`, as metrics-server serves it (what `kubectl
 * top` and the HorizontalPodAutoscaler read): NodeMetrics (`nodes`, cluster-wide) and PodMetrics
 * (`pods`, per namespace or across all), get and list only, with label selectors and the
 * metadata.name/metadata.namespace field selectors. Objects are made on each read from the nodes
 * and pods the API knows (their labels, sorted by name as a list of them would be) and the usage
 * kept by the scraper; one without usage yet is left out of lists and not found by name.
 * Errors are worded as metrics-server's listers and storage word them.
 */
import { ApiError } from '../../kube/errors.ts';
import { apiTime } from '../../kube/api-time.ts';
import { matchesFields, parseFieldSelector, type FieldSelector } from '../../kube/fields.ts';
import { matchesLabels, parseLabelSelector, type LabelSelector } from '../../kube/labels.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { LocalBackend } from '../api/aggregator/aggregator.ts';
import type { ParsedRequest } from '../api/request.ts';
import { wantsTable } from '../api/rest.ts';
import { rowObject } from '../api/table.ts';
import { formatBytes, formatNanoCores, goDuration } from './usage-format.ts';
import type { Measured, NodeUsage, PodUsage, Usage } from './usage-store.ts';

export const metricsGroup = 'metrics.k8s.io';
export const metricsVersion = 'v1beta1';
const apiVersion = `${metricsGroup}/${metricsVersion}`;

/** The APIResourceList entries metrics-server publishes for its group/version. */
const metricsResources: readonly Record<string, unknown>[] = [
  { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
  { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
];

/** Where the API's objects come from: the nodes and pods the server knows, and the usage measured. */
interface MetricsSources {
  node(name: string): Promise<KubeObject | undefined>;
  nodes(): Promise<readonly KubeObject[]>;
  pod(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Pods of one namespace, or of all when undefined. */
  pods(namespace: string | undefined): Promise<readonly KubeObject[]>;
  nodeUsage(name: string): NodeUsage | undefined;
  /** A pod's usage as `boundTo`, the node the API has it on, reported it. */
  podUsage(boundTo: string, namespace: string, name: string): PodUsage | undefined;
  now(): number;
}

interface MetricsReply {
  readonly code: number;
  readonly body: unknown;
  readonly contentType: string;
}

type Any = Record<string, any>;

const usageOf = (usage: Usage) => ({
  cpu: formatNanoCores(usage.cpuNanoCores),
  memory: formatBytes(usage.memoryBytes),
});

function metadataOf(object: KubeObject, now: number): Any {
  const labels = object.metadata.labels;
  return {
    name: object.metadata.name,
    ...(object.metadata.namespace !== undefined ? { namespace: object.metadata.namespace } : {}),
    creationTimestamp: apiTime(now),
    ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
  };
}

/** The fields every metrics object has: its kind, its subject's name and labels, when and over what window. */
function measuredObject(kind: string, subject: KubeObject, measured: Measured, now: number): Any {
  return {
    kind,
    apiVersion,
    metadata: metadataOf(subject, now),
    timestamp: apiTime(measured.timestampMs),
    window: goDuration(measured.windowMs),
  };
}

function nodeMetrics(node: KubeObject, usage: NodeUsage, now: number): Any {
  return { ...measuredObject('NodeMetrics', node, usage, now), usage: usageOf(usage.usage) };
}

function podMetrics(pod: KubeObject, usage: PodUsage, now: number): Any {
  const containers = usage.containers.map((c) => ({ name: c.name, usage: usageOf(c.usage) }));
  return { ...measuredObject('PodMetrics', pod, usage, now), containers };
}

const byName = (a: Any, b: Any) =>
  a.metadata.namespace === b.metadata.namespace
    ? a.metadata.name < b.metadata.name
      ? -1
      : a.metadata.name > b.metadata.name
        ? 1
        : 0
    : a.metadata.namespace < b.metadata.namespace
      ? -1
      : 1;

/** One answer item: the object, and what its Table row shows (a pod's usage summed over its containers). */
interface Item {
  readonly object: Any;
  readonly cpu: string;
  readonly memory: string;
}

/** metrics-server's Table: the name, each measured resource, the window. */
function metricsTable(items: readonly Item[], includeObject: string): Any {
  const column = (name: string, format: string, description = '') => ({
    name,
    type: 'string',
    format,
    description,
    priority: 0,
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {},
    columnDefinitions:
      items.length === 0
        ? []
        : [
            column('Name', 'name', 'Name of the resource'),
            column('cpu', 'quantity'),
            column('memory', 'quantity'),
            column('Window', 'duration'),
          ],
    rows: items.map((item) => ({
      cells: [item.object.metadata.name, item.cpu, item.memory, item.object.window],
      object: rowObject(item.object, includeObject),
    })),
  };
}

const notFoundResource = () => new ApiError('NotFound', 'the server could not find the requested resource');

function selectors(url: URL): { labels: LabelSelector; fields: FieldSelector } {
  return {
    labels: parseLabelSelector(url.searchParams.get('labelSelector') ?? ''),
    fields: parseFieldSelector(url.searchParams.get('fieldSelector') ?? ''),
  };
}

/** Only metadata.name and metadata.namespace are fields here (metrics-server's filter). */
function matches(object: KubeObject, chosen: { labels: LabelSelector; fields: FieldSelector }): boolean {
  const fields = { metadata: { name: object.metadata.name, namespace: object.metadata.namespace } };
  return matchesLabels(chosen.labels, object.metadata.labels) && matchesFields(chosen.fields, fields);
}

export class MetricsApi implements LocalBackend {
  /** What discovery lists for the group/version. */
  readonly resources = metricsResources;
  readonly #sources: MetricsSources;

  constructor(sources: MetricsSources) {
    this.#sources = sources;
  }

  /** Answers an authorized request under /apis/metrics.k8s.io/v1beta1; throws ApiError. */
  async serve(request: ParsedRequest, url: URL, accept: string | undefined): Promise<MetricsReply> {
    if (request.kind === 'path') {
      if (request.verb !== 'get') throw methodNotAllowed();
      return json({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersion, resources: metricsResources });
    }
    const { resource } = request.info;
    if (resource !== 'nodes' && resource !== 'pods') throw notFoundResource();
    if (request.subresource !== undefined) throw notFoundResource();
    if (resource === 'nodes' && request.namespace !== undefined) throw notFoundResource();
    if (resource === 'pods' && request.name !== undefined && request.namespace === undefined) throw notFoundResource();
    if (request.verb === 'watch')
      throw new ApiError(
        'MethodNotAllowed',
        `watch is not supported on resources of kind "${resource}.${metricsGroup}"`,
        { group: metricsGroup, kind: resource },
      );
    if (request.verb !== 'get' && request.verb !== 'list') throw methodNotAllowed();
    const now = this.#sources.now();
    const items =
      request.verb === 'get'
        ? [
            resource === 'nodes'
              ? await this.#node(request.name!, now)
              : await this.#pod(request.namespace!, request.name!, now),
          ]
        : resource === 'nodes'
          ? await this.#nodes(selectors(url), now)
          : await this.#pods(request.namespace, selectors(url), now);
    if (wantsTable(accept)) {
      const table = metricsTable(items, url.searchParams.get('includeObject') ?? 'Metadata');
      return { code: 200, body: table, contentType: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
    }
    if (request.verb === 'get') return json(items[0]!.object);
    const kind = resource === 'nodes' ? 'NodeMetricsList' : 'PodMetricsList';
    return json({ kind, apiVersion, metadata: {}, items: items.map((item) => item.object) });
  }

  async #node(name: string, now: number): Promise<Item> {
    const node = await this.#sources.node(name);
    if (node === undefined) throw new ApiError('NotFound', `node "${name}" not found`, { name, kind: 'node' });
    const usage = this.#sources.nodeUsage(name);
    if (usage === undefined)
      throw new ApiError('NotFound', `nodemetrics.${metricsGroup} "${name}" not found`, {
        name,
        group: metricsGroup,
        kind: 'nodemetrics',
      });
    return nodeItem(node, usage, now);
  }

  async #nodes(chosen: { labels: LabelSelector; fields: FieldSelector }, now: number): Promise<Item[]> {
    const out: Item[] = [];
    for (const node of await this.#sources.nodes()) {
      if (!matches(node, chosen)) continue;
      const usage = this.#sources.nodeUsage(node.metadata.name ?? '');
      if (usage !== undefined) out.push(nodeItem(node, usage, now));
    }
    return out.sort((a, b) => byName(a.object, b.object));
  }

  #podUsage(pod: KubeObject): PodUsage | undefined {
    const node = (pod.spec as Any | undefined)?.nodeName;
    if (typeof node !== 'string' || node === '') return undefined;
    return this.#sources.podUsage(node, pod.metadata.namespace ?? '', pod.metadata.name ?? '');
  }

  async #pod(namespace: string, name: string, now: number): Promise<Item> {
    const pod = await this.#sources.pod(namespace, name);
    if (pod === undefined) throw new ApiError('NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
    const usage = this.#podUsage(pod);
    if (usage === undefined)
      throw new ApiError('NotFound', `podmetrics.${metricsGroup} "${namespace}/${name}" not found`, {
        name: `${namespace}/${name}`,
        group: metricsGroup,
        kind: 'podmetrics',
      });
    return podItem(pod, usage, now);
  }

  async #pods(
    namespace: string | undefined,
    chosen: { labels: LabelSelector; fields: FieldSelector },
    now: number,
  ): Promise<Item[]> {
    const out: Item[] = [];
    for (const pod of await this.#sources.pods(namespace)) {
      if (!matches(pod, chosen)) continue;
      const usage = this.#podUsage(pod);
      if (usage !== undefined) out.push(podItem(pod, usage, now));
    }
    return out.sort((a, b) => byName(a.object, b.object));
  }
}

function nodeItem(node: KubeObject, usage: NodeUsage, now: number): Item {
  return { object: nodeMetrics(node, usage, now), ...usageOf(usage.usage) };
}

function podItem(pod: KubeObject, usage: PodUsage, now: number): Item {
  const total = { cpuNanoCores: 0, memoryBytes: 0 };
  for (const c of usage.containers) {
    total.cpuNanoCores += c.usage.cpuNanoCores;
    total.memoryBytes += c.usage.memoryBytes;
  }
  return { object: podMetrics(pod, usage, now), ...usageOf(total) };
}

function json(body: unknown): MetricsReply {
  return { code: 200, body, contentType: 'application/json' };
}

function methodNotAllowed(): ApiError {
  return new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
}
