/**
 * SelfSubjectRulesReview (`kubectl auth can-i --list`): every RBAC rule that applies to the caller
 * in one namespace, from ClusterRoleBindings and that namespace's RoleBindings, as upstream's RBAC
 * rule resolver lists them. Node identities get `incomplete`: the node authorizer decides their
 * requests by the pods bound to them, which no rule list can say (upstream answers the same).
 */
import { ApiError } from '../../kube/errors.ts';
import { isPlainObject } from '../../kube/types.ts';
import type { RestCall, RestReply } from '../api/rest.ts';
import { bindingApplies, type PolicyRule, type PolicySource } from './rbac.ts';
import type { UserInfo } from './types.ts';

interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

interface NonResourceRule {
  verbs: string[];
  nonResourceURLs?: string[];
}

interface RulesReviewStatus {
  resourceRules: ResourceRule[];
  nonResourceRules: NonResourceRule[];
  incomplete: boolean;
  evaluationError?: string;
}

/** The rules of every role bound to `user` cluster-wide or in `namespace`, split by kind. */
async function rulesFor(source: PolicySource, user: UserInfo, namespace: string): Promise<RulesReviewStatus> {
  const clusterRoles = await source.clusterRoles();
  const roles = await source.roles();
  const rules: PolicyRule[] = [];
  const clusterRoleRules = (name: string) => clusterRoles.find((r) => r.metadata.name === name)?.rules ?? [];
  for (const binding of await source.clusterRoleBindings()) {
    if (binding.roleRef.kind === 'ClusterRole' && bindingApplies(binding, user, undefined))
      rules.push(...clusterRoleRules(binding.roleRef.name));
  }
  for (const binding of await source.roleBindings()) {
    if (binding.metadata.namespace !== namespace || !bindingApplies(binding, user, namespace)) continue;
    if (binding.roleRef.kind === 'ClusterRole') rules.push(...clusterRoleRules(binding.roleRef.name));
    else
      rules.push(
        ...(roles.find((r) => r.metadata.namespace === namespace && r.metadata.name === binding.roleRef.name)?.rules ??
          []),
      );
  }
  const status: RulesReviewStatus = { resourceRules: [], nonResourceRules: [], incomplete: false };
  for (const rule of rules) {
    const verbs = rule.verbs ?? [];
    if ((rule.resources ?? []).length > 0) {
      status.resourceRules.push({
        verbs,
        apiGroups: rule.apiGroups ?? [],
        resources: rule.resources ?? [],
        ...(rule.resourceNames?.length ? { resourceNames: rule.resourceNames } : {}),
      });
    }
    if ((rule.nonResourceURLs ?? []).length > 0)
      status.nonResourceRules.push({ verbs, nonResourceURLs: rule.nonResourceURLs ?? [] });
  }
  if (user.groups.includes('system:nodes')) {
    status.incomplete = true;
    status.evaluationError = 'node authorizer does not support user rule resolution';
  }
  return status;
}

export function rulesReviewHandler(source: PolicySource): (call: RestCall) => Promise<RestReply> {
  return async (call) => {
    if (!isPlainObject(call.body)) throw new ApiError('BadRequest', 'the request body must be a JSON object');
    const review = call.body as { metadata?: object; spec?: { namespace?: string } };
    const namespace = review.spec?.namespace ?? '';
    if (namespace === '') throw new ApiError('BadRequest', 'no namespace on request');
    const status = await rulesFor(source, call.user, namespace);
    return { code: 201, body: { ...review, metadata: review.metadata ?? {}, status } };
  };
}
