/**
 * The generic REST verbs over the registry: get, list, create, update, patch, delete and
 * deletecollection, plus the status, scale and binding subresources. Watches are streamed by the
 * HTTP layer (watch-stream.ts); everything here answers with one JSON body.
 */
import { ApiError } from '../../kube/errors.ts';
import { parseFieldSelector, type FieldSelector } from '../../kube/fields.ts';
import {
  formatLabelSelector,
  parseLabelSelector,
  selectorFromObject,
  type LabelSelector,
  type LabelSelectorObject,
} from '../../kube/labels.ts';
import { apiVersionOf, isPlainObject, type KubeObject } from '../../kube/types.ts';
import { applyConfiguration } from './apply/apply.ts';
import { managerFromUserAgent, recordUpdate, type UpdateWriter } from './apply/update-ownership.ts';
import { applyPatch, patchTypeOf } from './patch.ts';
import type { UserInfo } from '../auth/types.ts';
import { bindPod } from './binding.ts';
import { parsePropagation } from './delete-propagation.ts';
import { checkFields, decodingContext, fieldValidationOf } from './field-validation.ts';
import { refuseNamespaceDeletion } from '../admission/namespace-lifecycle.ts';
import type { DeleteOptions, Registry } from './registry.ts';
import { isDryRun, runRequest } from './request-context.ts';
import type { ResourceRequest } from './request.ts';
import type { ResourceInfo } from './resources.ts';
import { tableFor } from './table.ts';
import { checkListOptions } from './watch-options.ts';
import { listRevision } from './list-revision.ts';
import { flagParam, integerParam } from './query-params.ts';
import { checkWriteOptions } from './write-options.ts';
import { storedSubresource } from './write-strategy.ts';
import { apiTime } from '../../kube/api-time.ts';

export interface RestCall {
  readonly user: UserInfo;
  readonly request: ResourceRequest;
  readonly url: URL;
  readonly body: unknown;
  readonly contentType: string | undefined;
  readonly accept: string | undefined;
  /** Names the field manager of a write that has no ?fieldManager=. */
  readonly userAgent?: string | undefined;
  /** The body as sent when it was JSON (field validation looks for duplicate keys in it). */
  readonly rawJson?: string;
}

export interface RestReply {
  readonly code: number;
  readonly body: unknown;
  /** Sent as `Warning` headers (kubectl prints them as "Warning: ..."). */
  readonly warnings?: readonly string[];
}

/** Unknown and duplicate fields of an object about to be written, as ?fieldValidation= asks. */
function fieldWarnings(call: RestCall, object: KubeObject, context: 'decode' | 'patch'): string[] {
  const { group, version, kind, custom } = call.request.info;
  return checkFields(group, version, kind, object as Record<string, unknown>, {
    mode: fieldValidationOf(call.url.searchParams),
    rawJson: call.rawJson,
    context: context === 'decode' ? decodingContext(group, version, kind) : '',
    // a custom resource's fields are those of its schema
    ...(custom !== undefined ? { prune: custom.pruneUnknown } : {}),
  });
}

/** managedFields times are whole seconds, as upstream's metav1.Time. */

/** Who a create, replace or patch records as the owner of what it changed. */
function writerOf(call: RestCall): UpdateWriter {
  const { info, subresource } = call.request;
  return {
    manager: call.url.searchParams.get('fieldManager') || managerFromUserAgent(call.userAgent),
    apiVersion: apiVersionOf(info.group, info.version),
    ...(subresource === 'status' || subresource === 'approval' ? { subresource } : {}),
    ...(info.custom !== undefined ? { lists: info.custom.listTypes } : {}),
    now: apiTime(new Date()),
  };
}

/** Answers requests that store nothing (access reviews, token requests); provided by the auth layer. */
export type VirtualHandler = (call: RestCall) => Promise<RestReply>;

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => part.includes('as=Table'));
}

export function selectorsFrom(info: ResourceInfo, url: URL): { labels?: LabelSelector; fields?: FieldSelector } {
  const out: { labels?: LabelSelector; fields?: FieldSelector } = {};
  const labels = url.searchParams.get('labelSelector');
  if (labels) out.labels = parseLabelSelector(labels);
  const fields = url.searchParams.get('fieldSelector');
  if (fields) {
    const parsed = parseFieldSelector(fields);
    for (const r of parsed) {
      if (r.field !== 'metadata.name' && r.field !== 'metadata.namespace' && !info.fields.includes(r.field)) {
        throw new ApiError(
          'BadRequest',
          `"${r.field}" is not a known field selector: only "metadata.name", "metadata.namespace"${info.fields.map((f) => `, "${f}"`).join('')}`,
        );
      }
    }
    out.fields = parsed;
  }
  return out;
}

function requireObject(body: unknown): KubeObject {
  if (!isPlainObject(body)) throw new ApiError('BadRequest', 'the request body must be a JSON object');
  if (body.metadata !== undefined && !isPlainObject(body.metadata)) {
    throw new ApiError('BadRequest', 'metadata must be an object');
  }
  (body as KubeObject).metadata ??= {};
  return body as KubeObject;
}

function checkKind(
  info: ResourceInfo,
  object: KubeObject,
  expected = info.kind,
  expectedVersion = apiVersionOf(info.group, info.version),
): void {
  if (object.kind !== undefined && object.kind !== expected) {
    throw new ApiError('BadRequest', `the kind of the object (${object.kind}) does not match the URL (${expected})`);
  }
  if (object.apiVersion !== undefined && object.apiVersion !== expectedVersion) {
    throw new ApiError(
      'BadRequest',
      `the API version of the object (${object.apiVersion}) does not match the URL (${expectedVersion})`,
    );
  }
}

function checkNamespace(request: ResourceRequest, object: KubeObject): void {
  const ns = object.metadata.namespace;
  if (request.info.namespaced && ns !== undefined && ns !== '' && ns !== request.namespace) {
    throw new ApiError(
      'BadRequest',
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
}

function toScale(object: KubeObject, info?: ResourceInfo): KubeObject {
  if (info?.custom?.scale !== undefined) return info.custom.scale.read(object as Record<string, unknown>) as KubeObject;
  const spec = (object.spec ?? {}) as { replicas?: number; selector?: LabelSelectorObject };
  const status = (object.status ?? {}) as { replicas?: number };
  // A ReplicationController's selector is a plain map of labels that must be equal.
  const selector =
    object.kind === 'ReplicationController'
      ? { matchLabels: (spec.selector as Record<string, string> | undefined) ?? {} }
      : spec.selector;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, selector: formatLabelSelector(selectorFromObject(selector)) },
  };
}

/** A write through the scale subresource: spec.replicas, or the custom resource's specReplicasPath. */
function setReplicas(info: ResourceInfo, object: KubeObject, replicas: unknown): void {
  if (info.custom?.scale !== undefined) info.custom.scale.write(object as Record<string, unknown>, replicas);
  else object.spec = { ...(object.spec as object), replicas };
}

function deleteOptions(url: URL, body: unknown): DeleteOptions {
  const options: DeleteOptions = {};
  const source = isPlainObject(body) ? body : {};
  const fromQuery = integerParam(url.searchParams, 'gracePeriodSeconds');
  const grace = fromQuery ?? source.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) {
    if (!Number.isInteger(grace)) throw new ApiError('BadRequest', `gracePeriodSeconds must be an integer`);
    // a negative period means 1 s, as upstream reads it on the delete path
    options.gracePeriodSeconds = (grace as number) < 0 ? 1 : (grace as number);
  }
  if (isPlainObject(source.preconditions))
    options.preconditions = source.preconditions as DeleteOptions['preconditions'] & object;
  return { ...options, ...parsePropagation(url.searchParams, source) };
}

export class RestHandler {
  readonly #registry: Registry;
  readonly #virtual: VirtualHandler;

  constructor(registry: Registry, virtual: VirtualHandler) {
    this.#registry = registry;
    this.#virtual = virtual;
  }

  async handle(call: RestCall): Promise<RestReply> {
    const reply = await this.#handle(call);
    // every answer from a deprecated version of a custom resource says so, as upstream's do
    const deprecated = call.request.info.custom?.deprecationWarning;
    return deprecated === undefined ? reply : { ...reply, warnings: [deprecated, ...(reply.warnings ?? [])] };
  }

  async #handle(call: RestCall): Promise<RestReply> {
    const { request } = call;
    checkWriteOptions(
      request.verb,
      call.url.searchParams,
      request.verb === 'patch' ? patchTypeOf(call.contentType) : undefined,
    );
    if (!request.info.verbs.includes('get')) {
      if (request.verb !== 'create')
        throw new ApiError('MethodNotAllowed', `${request.info.resource} only accepts create`);
      return this.#virtual(call);
    }
    if (request.subresource !== undefined && !request.info.subresources.includes(request.subresource as never)) {
      throw new ApiError(
        'NotFound',
        `the server could not find the requested resource (${request.info.resource}/${request.subresource})`,
      );
    }
    switch (request.verb) {
      case 'get':
        return this.#get(call);
      case 'list':
        return this.#list(call);
      case 'create':
        return this.#create(call);
      case 'update':
        return this.#update(call);
      case 'patch':
        return this.#patch(call);
      case 'delete':
        return this.#delete(call);
      case 'deletecollection':
        return this.#deleteCollection(call);
      default:
        throw new ApiError('MethodNotAllowed', `${request.verb} is not supported here`);
    }
  }

  async #get(call: RestCall): Promise<RestReply> {
    const { info, namespace, name, subresource } = call.request;
    const object = await this.#registry.get(info, namespace, name!);
    if (subresource === 'scale') return { code: 200, body: toScale(object, info) };
    if (wantsTable(call.accept) && subresource === undefined) {
      return {
        code: 200,
        body: tableFor(
          info,
          [object],
          object.metadata.resourceVersion,
          call.url.searchParams.get('includeObject') ?? 'Metadata',
        ),
      };
    }
    return { code: 200, body: object };
  }

  async #list(call: RestCall): Promise<RestReply> {
    const { info, namespace } = call.request;
    checkListOptions(call.url.searchParams);
    // zero or negative: no limit, as upstream pages only for a positive one
    const asked = integerParam(call.url.searchParams, 'limit');
    const limit = asked !== undefined && asked > 0 ? asked : undefined;
    const continueToken = call.url.searchParams.get('continue') ?? undefined;
    const rvText = call.url.searchParams.get('resourceVersion') ?? '';
    if (rvText !== '' && !/^\d+$/.test(rvText)) throw new ApiError('BadRequest', `invalid resourceVersion "${rvText}"`);
    if (continueToken && rvText !== '' && rvText !== '0')
      throw new ApiError('BadRequest', 'specifying resource version is not allowed when using continue');
    const list = await this.#registry.list(info, namespace, {
      ...selectorsFrom(info, call.url),
      ...(limit ? { limit } : {}),
      ...(continueToken ? { continueToken } : {}),
      ...listRevision(rvText, call.url.searchParams.get('resourceVersionMatch') ?? '', limit),
    });
    if (wantsTable(call.accept)) {
      const table = tableFor(
        info,
        list.items,
        list.metadata.resourceVersion,
        call.url.searchParams.get('includeObject') ?? 'Metadata',
      );
      return { code: 200, body: { ...table, metadata: list.metadata } };
    }
    return { code: 200, body: list };
  }

  async #create(call: RestCall): Promise<RestReply> {
    const { info, namespace, name, subresource } = call.request;
    if (subresource === 'binding') return this.#bind(call);
    // Requests answered without storing anything (service-account TokenRequest).
    if (subresource === 'token') return this.#virtual(call);
    if (subresource === 'eviction') return this.#evict(call);
    if (name !== undefined || subresource !== undefined)
      throw new ApiError('MethodNotAllowed', 'POST is only for collections');
    const object = requireObject(call.body);
    checkKind(info, object);
    checkNamespace(call.request, object);
    const warnings = fieldWarnings(call, object, 'decode');
    if (!object.metadata.name && !object.metadata.generateName) {
      throw new ApiError(
        'Invalid',
        `${info.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
        {
          kind: info.kind,
          group: info.group,
          causes: [
            {
              reason: 'FieldValueRequired',
              message: 'Required value: name or generateName is required',
              field: 'metadata.name',
            },
          ],
        },
      );
    }
    const created = await this.#registry.create(info, namespace, recordUpdate(undefined, object, writerOf(call)));
    return { code: 201, body: created, warnings };
  }

  /**
   * pods/<name>/eviction: a delete with the Eviction's own DeleteOptions (no PodDisruptionBudgets
   * are served, so none can refuse it). As upstream, the Eviction must name the pod of the URL, and
   * a dry run in its DeleteOptions (`kubectl drain --dry-run=server`) deletes nothing.
   */
  async #evict(call: RestCall): Promise<RestReply> {
    const { info, namespace, name } = call.request;
    const eviction = isPlainObject(call.body) ? call.body : {};
    const evicted = isPlainObject(eviction.metadata) ? eviction.metadata.name : undefined;
    if (evicted !== name) throw new ApiError('BadRequest', 'name in URL does not match name in Eviction object');
    const options = isPlainObject(eviction.deleteOptions) ? eviction.deleteOptions : undefined;
    return this.#withBodyDryRun({ ...call, body: options }, async () => {
      const result = await this.#registry.delete(info, namespace, name!, deleteOptions(call.url, options));
      return {
        code: 201,
        body: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          code: 201,
          details: { name: result.object.metadata.name, kind: 'pods' },
        },
      };
    });
  }

  async #bind(call: RestCall): Promise<RestReply> {
    const { info, namespace, name } = call.request;
    const binding = requireObject(call.body);
    const target = (binding.target ?? {}) as { name?: string; kind?: string };
    if (!target.name)
      throw new ApiError('Invalid', 'Binding is invalid: target.name: Required value', {
        causes: [{ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' }],
      });
    // 'binding' writes spec and status together: the bind also records PodScheduled=True.
    await this.#registry.guaranteedUpdate(info, namespace, name!, 'binding', (pod) => {
      const spec = (pod.spec ?? {}) as { nodeName?: string };
      if (pod.metadata.deletionTimestamp)
        throw new ApiError('Conflict', `pod ${name} is being deleted, cannot be assigned to a host`);
      if (spec.nodeName) throw new ApiError('Conflict', `pod ${name} is already assigned to node "${spec.nodeName}"`);
      return bindPod(pod, target.name!, binding.metadata.annotations, new Date());
    });
    return { code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
  }

  async #update(call: RestCall): Promise<RestReply> {
    const { info, namespace, name, subresource } = call.request;
    if (name === undefined) throw new ApiError('MethodNotAllowed', 'PUT needs an object name');
    const object = requireObject(call.body);
    if (subresource === 'scale') {
      checkKind(info, object, 'Scale', 'autoscaling/v1');
      // autoscaling/v1 omits a zero count (omitempty): kubectl 1.27 scales to 0 with `spec: {}`.
      const replicas = (object.spec as { replicas?: unknown } | undefined)?.replicas ?? 0;
      const wanted = object.metadata.resourceVersion;
      const updated = await this.#registry.guaranteedUpdate(info, namespace, name, undefined, (current) => {
        if (wanted && wanted !== current.metadata.resourceVersion) {
          throw new ApiError(
            'Conflict',
            `Operation cannot be fulfilled on ${info.resource}.${info.group} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          );
        }
        setReplicas(info, current, replicas);
        return current;
      });
      return { code: 200, body: toScale(updated, info) };
    }
    checkKind(info, object);
    checkNamespace(call.request, object);
    if (object.metadata.name !== undefined && object.metadata.name !== name) {
      throw new ApiError(
        'BadRequest',
        `the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const warnings = fieldWarnings(call, object, 'decode');
    const status = storedSubresource(subresource);
    const writer = writerOf(call);
    const updated = await this.#registry.update(info, namespace, name, object, status, (current, next) =>
      recordUpdate(current, next, writer),
    );
    return { code: 200, body: updated, warnings };
  }

  async #patch(call: RestCall): Promise<RestReply> {
    const { info, namespace, name, subresource } = call.request;
    if (name === undefined) throw new ApiError('MethodNotAllowed', 'PATCH needs an object name');
    const type = patchTypeOf(call.contentType);
    if (type === undefined) {
      throw new ApiError(
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml`,
      );
    }
    // custom resources have no patch strategies to merge by (upstream answers the same 415)
    if (type === 'strategic' && info.custom !== undefined && subresource !== 'scale') {
      throw new ApiError(
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      );
    }
    if (type === 'apply') return this.#apply(call);
    if (subresource === 'scale') {
      const updated = await this.#registry.guaranteedUpdate(info, namespace, name, undefined, (current) => {
        const scale = applyPatch(type, toScale(current, info), call.body) as KubeObject;
        setReplicas(info, current, (scale.spec as { replicas?: unknown }).replicas);
        return current;
      });
      return { code: 200, body: toScale(updated, info) };
    }
    const status = storedSubresource(subresource);
    let warnings: string[] = [];
    const writer = writerOf(call);
    const updated = await this.#registry.guaranteedUpdate(info, namespace, name, status, (current) => {
      const patched = applyPatch(type, current, call.body);
      if (!isPlainObject(patched)) throw new ApiError('BadRequest', 'the patch does not leave an object');
      const object = patched as KubeObject;
      if (!isPlainObject(object.metadata)) throw new ApiError('BadRequest', 'the patch removes metadata');
      const wanted = object.metadata.resourceVersion;
      if (wanted && wanted !== current.metadata.resourceVersion) {
        throw new ApiError(
          'Conflict',
          `Operation cannot be fulfilled on ${info.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      }
      if (object.metadata.name !== current.metadata.name)
        throw new ApiError('BadRequest', 'metadata.name cannot be changed by a patch');
      warnings = fieldWarnings(call, object, 'patch');
      return recordUpdate(current, object, writer);
    });
    return { code: 200, body: updated, warnings };
  }

  /** DeleteOptions may ask for a dry run in the body (kubectl delete --dry-run=server does). */
  #withBodyDryRun(call: RestCall, body: () => Promise<RestReply>): Promise<RestReply> {
    const asked = isPlainObject(call.body) && Array.isArray(call.body.dryRun) ? (call.body.dryRun as unknown[]) : [];
    checkWriteOptions('delete', new URLSearchParams(asked.map((v): [string, string] => ['dryRun', String(v)])));
    return asked.length > 0 && !isDryRun() ? runRequest({ user: call.user, dryRun: true }, body) : body();
  }

  /** Server-side apply (PATCH with application/apply-patch+yaml; the body must be JSON). */
  async #apply(call: RestCall): Promise<RestReply> {
    const { info, namespace, name, subresource } = call.request;
    if (subresource !== undefined)
      throw new ApiError('MethodNotAllowed', 'server-side apply works on the main resource only');
    const manager = call.url.searchParams.get('fieldManager');
    if (!manager) throw new ApiError('BadRequest', 'fieldManager is required for apply requests');
    const force = flagParam(call.url.searchParams, 'force');
    const applied = requireObject(call.body);
    checkKind(info, applied);
    checkNamespace(call.request, applied);
    if (applied.kind === undefined || applied.apiVersion === undefined)
      throw new ApiError('BadRequest', 'an applied configuration must name its apiVersion and kind');
    if (applied.metadata.name !== undefined && applied.metadata.name !== name) {
      throw new ApiError(
        'BadRequest',
        `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (applied.metadata.managedFields !== undefined)
      throw new ApiError('BadRequest', 'metadata.managedFields must be nil in an applied configuration');
    applied.metadata.name = name;
    const warnings = fieldWarnings(call, applied, 'patch');
    const request = {
      applied,
      manager,
      force,
      now: apiTime(new Date()),
      ...(info.custom !== undefined ? { lists: info.custom.listTypes } : {}),
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const updated = await this.#registry.guaranteedUpdate(info, namespace, name!, undefined, (current) =>
          applyConfiguration(current, request),
        );
        return { code: 200, body: updated, warnings };
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
      }
      try {
        return {
          code: 201,
          body: await this.#registry.create(info, namespace, applyConfiguration(undefined, request)),
          warnings,
        };
      } catch (err) {
        // Someone created it in between: apply to what they made.
        if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
      }
    }
    throw new ApiError('Conflict', `the object ${name} kept changing between apply attempts; try again`);
  }

  async #delete(call: RestCall): Promise<RestReply> {
    return this.#withBodyDryRun(call, () => this.#deleteOne(call));
  }

  async #deleteOne(call: RestCall): Promise<RestReply> {
    const { info, namespace, name } = call.request;
    if (info.group === '' && info.resource === 'namespaces')
      await refuseNamespaceDeletion(await this.#registry.get(info, namespace, name!));
    const result = await this.#registry.delete(info, namespace, name!, deleteOptions(call.url, call.body));
    return { code: 200, body: result.object };
  }

  async #deleteCollection(call: RestCall): Promise<RestReply> {
    return this.#withBodyDryRun(call, () => this.#deleteAll(call));
  }

  async #deleteAll(call: RestCall): Promise<RestReply> {
    const { info, namespace } = call.request;
    const list = await this.#registry.list(info, namespace, selectorsFrom(info, call.url));
    const options = deleteOptions(call.url, call.body);
    const items: KubeObject[] = [];
    for (const object of list.items) {
      try {
        items.push(
          (await this.#registry.delete(info, object.metadata.namespace, object.metadata.name!, options)).object,
        );
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
      }
    }
    return { code: 200, body: { ...list, items } };
  }
}
