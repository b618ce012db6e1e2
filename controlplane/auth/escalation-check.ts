/**
 * RBAC escalation prevention, as upstream's role and binding storage does it: nobody hands out a
 * permission it does not hold.
 * - A Role or ClusterRole may be written only by someone whose own RBAC rules (in the role's
 *   namespace, or cluster-wide) cover every rule in it, or who may `escalate` roles/clusterroles.
 *   Setting a ClusterRole's aggregationRule (which can gather anything) needs `*` on everything.
 * - A RoleBinding or ClusterRoleBinding may be written only by someone who holds every rule of the
 *   role it refers to in the binding's scope, or who may `bind` that role (resourceNames honoured).
 * system:masters is never checked; neither are the server's own writes (no user). Deletes, and
 * updates that only touch what the garbage collector writes (ownerReferences, finalizers), pass.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { AdmissionRequest } from '../api/registry.ts';
import type { PolicyRule, RoleRef } from './rbac.ts';
import { describeMissing, quotedList, requestedRules, uncoveredRules } from './rule-coverage.ts';
import { referencedRole, rulesFor, type PolicySnapshot } from './rule-resolver.ts';
import type { Authorizer, UserInfo } from './types.ts';

const rbacGroup = 'rbac.authorization.k8s.io';
const fullAuthority: PolicyRule[] = [
  { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
  { nonResourceURLs: ['*'], verbs: ['*'] },
];

interface EscalationDeps {
  /** The RBAC policy as it stands (roles and bindings). */
  policy(): Promise<PolicySnapshot>;
  /** The server's authorizer, asked whether the user may `escalate` or `bind`. */
  readonly authorizer: Authorizer;
}

type Any = Record<string, any>;

/** Whether old and new differ only in the fields the garbage collector changes. */
export function onlyGarbageCollectionFields(next: KubeObject, old: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const {
      ownerReferences: _o,
      finalizers: _f,
      resourceVersion: _r,
      managedFields: _m,
      ...metadata
    } = o.metadata as Any;
    return JSON.stringify({ ...o, metadata });
  };
  return strip(next) === strip(old);
}

/** The refusal upstream sends, naming the missing permissions. */
function escalationError(resource: string, name: string, user: UserInfo, missing: readonly PolicyRule[]): ApiError {
  return forbidden(
    resource,
    name,
    `user "${user.name}" (groups=${quotedList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${describeMissing(missing)}`,
  );
}

function forbidden(resource: string, name: string, why: string): ApiError {
  return new ApiError('Forbidden', `${resource}.${rbacGroup} "${name}" is forbidden: ${why}`, {
    name,
    group: rbacGroup,
    kind: resource,
  });
}

export function escalationCheck(
  deps: EscalationDeps,
): (request: AdmissionRequest, user: UserInfo | undefined) => Promise<void> {
  const allowed = async (user: UserInfo, verb: string, resource: string, namespace: string, name: string) =>
    (
      await deps.authorizer.authorize({
        user,
        verb,
        resource: { group: rbacGroup, resource, subresource: '', namespace, name },
      })
    ).allowed;

  return async (request, user) => {
    const { info, object, old, operation } = request;
    if (info.group !== rbacGroup || request.subresource !== undefined || user === undefined) return;
    if (user.groups.includes('system:masters')) return;
    if (operation === 'UPDATE' && old !== undefined && onlyGarbageCollectionFields(object, old)) return;
    const name = object.metadata.name ?? '';
    const namespace = info.namespaced ? (object.metadata.namespace ?? '') : '';
    const o = object as Any;
    switch (info.resource) {
      case 'roles':
      case 'clusterroles': {
        // asked as the request's own attributes: a create names no object, so `escalate` limited
        // by resourceNames covers updates of those roles only (as upstream)
        if (await allowed(user, 'escalate', info.resource, namespace, operation === 'CREATE' ? '' : name)) return;
        const policy = await deps.policy();
        const held = rulesFor(policy, user, namespace);
        const missing = uncoveredRules(held, requestedRules(o.rules));
        if (missing.length > 0) throw escalationError(info.resource, name, user, missing);
        const aggregates = o.aggregationRule != null || (old as Any | undefined)?.aggregationRule != null;
        if (info.resource === 'clusterroles' && aggregates && uncoveredRules(held, fullAuthority).length > 0) {
          throw forbidden(info.resource, name, 'must have cluster-admin privileges to use the aggregationRule');
        }
        return;
      }
      case 'rolebindings':
      case 'clusterrolebindings': {
        const ref = (o.roleRef ?? {}) as RoleRef;
        const roleResource = ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
        if (await allowed(user, 'bind', roleResource, namespace, ref.name ?? '')) return;
        const policy = await deps.policy();
        const role = referencedRole(policy, ref, namespace);
        if (role === undefined)
          throw new ApiError('NotFound', `${roleResource}.${rbacGroup} "${ref.name ?? ''}" not found`, {
            name: ref.name ?? '',
            group: rbacGroup,
            kind: roleResource,
          });
        const missing = uncoveredRules(rulesFor(policy, user, namespace), requestedRules(role.rules));
        if (missing.length > 0) throw escalationError(info.resource, name, user, missing);
        return;
      }
    }
  };
}
