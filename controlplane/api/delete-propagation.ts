/**
 * What a DELETE asks for its dependents, as the API server decides it: `propagationPolicy`
 * (or the older `orphanDependents`) becomes a finalizer that the garbage collector acts on.
 * Orphan adds `orphan` (the collector strips the owner from its dependents, then the finalizer);
 * Foreground adds `foregroundDeletion` (the collector deletes the dependents first); Background
 * adds nothing (the object goes now, the collector deletes its dependents after it).
 */
import { ApiError } from '../../kube/errors.ts';
import type { StatusCause } from '../../kube/types.ts';
import { booleanParam, invalidOptions, unsupportedOption } from './query-params.ts';
import type { ResourceInfo } from './resources.ts';
import { cleanupFinalizer as crdCleanupFinalizer } from '../apiextensions/crd.ts';

type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export const orphanFinalizer = 'orphan';
export const foregroundFinalizer = 'foregroundDeletion';

const policies: readonly PropagationPolicy[] = ['Foreground', 'Background', 'Orphan'];

export interface PropagationRequest {
  readonly propagationPolicy?: PropagationPolicy;
  readonly orphanDependents?: boolean;
}

/**
 * Reads the two DeleteOptions fields (query wins over body, as upstream decodes them; a query
 * boolean is read as every query boolean is, see query-params.ts).
 */
export function parsePropagation(query: URLSearchParams, body: Record<string, unknown>): PropagationRequest {
  const policy = query.get('propagationPolicy') ?? body.propagationPolicy;
  const orphanRaw = booleanParam(query, 'orphanDependents') ?? body.orphanDependents;
  const request: { propagationPolicy?: PropagationPolicy; orphanDependents?: boolean } = {};
  const causes: StatusCause[] = [];
  if (orphanRaw !== undefined && orphanRaw !== null) {
    if (orphanRaw !== true && orphanRaw !== false)
      throw new ApiError('BadRequest', `orphanDependents must be true or false, not ${JSON.stringify(orphanRaw)}`);
    request.orphanDependents = orphanRaw;
  }
  if (policy !== undefined && policy !== null && policy !== '') {
    if (request.orphanDependents !== undefined) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(String(policy))}: orphanDependents and deletionPropagation cannot be both set`,
        field: 'propagationPolicy',
      });
    }
    if (!policies.includes(policy as PropagationPolicy))
      causes.push(unsupportedOption('propagationPolicy', JSON.stringify(String(policy)), [...policies, 'nil']));
    request.propagationPolicy = policy as PropagationPolicy;
  }
  if (causes.length > 0) throw invalidOptions('DeleteOptions', causes);
  return request;
}

/**
 * The policy when the request names none: batch/v1 Jobs and v1 ReplicationControllers orphan
 * their pods (upstream keeps that for compatibility; kubectl always sends Background); everything
 * else is Background.
 */
function defaultPropagation(info: ResourceInfo): PropagationPolicy {
  if (info.group === 'batch' && info.version === 'v1' && info.resource === 'jobs') return 'Orphan';
  if (info.group === '' && info.version === 'v1' && info.resource === 'replicationcontrollers') return 'Orphan';
  return 'Background';
}

/**
 * Resources whose dependents the garbage collector follows (controllers/garbage-collector.ts), so
 * that it also removes their `orphan` and `foregroundDeletion` finalizers. Anything else has no
 * dependents it could wait for: every policy deletes it at once, rather than leaving it stuck.
 */
const collectedOwners = new Set([
  'apps/replicasets',
  'apps/deployments',
  'apps/daemonsets',
  'apps/statefulsets',
  'batch/jobs',
  'batch/cronjobs',
  '/services',
  '/nodes',
  '/replicationcontrollers',
]);

function collected(info: ResourceInfo): boolean {
  // custom resources' dependents are followed by the server (apiextensions/custom-resource-lifecycle.ts)
  return info.custom !== undefined || collectedOwners.has(`${info.group}/${info.resource}`);
}

/**
 * The finalizers an object carries after this delete. An explicit request overrides what the
 * object has; without one, a finalizer already there (from an earlier delete) decides; else the
 * resource's default.
 */
export function finalizersAfterDelete(
  info: ResourceInfo,
  finalizers: readonly string[],
  request: PropagationRequest,
): string[] {
  // a CustomResourceDefinition stays until its objects are deleted (controlplane/apiextensions/)
  if (info.group === 'apiextensions.k8s.io' && info.resource === 'customresourcedefinitions')
    return finalizers.includes(crdCleanupFinalizer) ? [...finalizers] : [...finalizers, crdCleanupFinalizer];
  if (!collected(info)) return [...finalizers];
  let policy: PropagationPolicy;
  if (request.orphanDependents !== undefined) policy = request.orphanDependents ? 'Orphan' : 'Background';
  else if (request.propagationPolicy !== undefined) policy = request.propagationPolicy;
  else if (finalizers.includes(orphanFinalizer)) policy = 'Orphan';
  else if (finalizers.includes(foregroundFinalizer)) policy = 'Foreground';
  else policy = defaultPropagation(info);
  const others = finalizers.filter((f) => f !== orphanFinalizer && f !== foregroundFinalizer);
  if (policy === 'Orphan') return [...others, orphanFinalizer];
  if (policy === 'Foreground') return [...others, foregroundFinalizer];
  return others;
}
