/**
 * The RBAC rules that apply to a user in a namespace: the rules of every ClusterRoleBinding that
 * names it, plus, in a namespace, those of the namespace's RoleBindings that name it. Pure over
 * one snapshot of the policy, so the escalation check compares against one consistent view.
 * Only RBAC counts here, as upstream: what the node authorizer or system:masters allow is not a
 * rule a user can hand on.
 */
import { matchesSubject, type Binding, type PolicyRule, type PolicySource, type Role, type RoleRef } from './rbac.ts';
import { requestedRules } from './rule-coverage.ts';
import type { UserInfo } from './types.ts';

export interface PolicySnapshot {
  readonly clusterRoles: readonly Role[];
  readonly roles: readonly Role[];
  readonly clusterRoleBindings: readonly Binding[];
  readonly roleBindings: readonly Binding[];
}

export async function snapshotOf(source: PolicySource): Promise<PolicySnapshot> {
  const [clusterRoles, roles, clusterRoleBindings, roleBindings] = await Promise.all([
    source.clusterRoles(),
    source.roles(),
    source.clusterRoleBindings(),
    source.roleBindings(),
  ]);
  return { clusterRoles, roles, clusterRoleBindings, roleBindings };
}

/** The role a reference names, seen from `namespace` (a Role is looked up there); undefined when absent. */
export function referencedRole(policy: PolicySnapshot, ref: RoleRef, namespace: string): Role | undefined {
  if (ref.kind === 'ClusterRole') return policy.clusterRoles.find((r) => r.metadata.name === ref.name);
  if (ref.kind === 'Role' && namespace !== '')
    return policy.roles.find((r) => r.metadata.namespace === namespace && r.metadata.name === ref.name);
  return undefined;
}

/** Every rule granted to `user` cluster-wide, and in `namespace` when it is not ''. */
export function rulesFor(policy: PolicySnapshot, user: UserInfo, namespace: string): PolicyRule[] {
  const rules: PolicyRule[] = [];
  for (const binding of policy.clusterRoleBindings) {
    if (!(binding.subjects ?? []).some((s) => matchesSubject(s, user, undefined))) continue;
    rules.push(...requestedRules(referencedRole(policy, binding.roleRef, '')?.rules));
  }
  if (namespace === '') return rules;
  for (const binding of policy.roleBindings) {
    if (binding.metadata.namespace !== namespace) continue;
    if (!(binding.subjects ?? []).some((s) => matchesSubject(s, user, namespace))) continue;
    rules.push(...requestedRules(referencedRole(policy, binding.roleRef, namespace)?.rules));
  }
  return rules;
}
