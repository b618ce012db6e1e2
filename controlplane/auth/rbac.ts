/**
 * RBAC: a request is allowed when some binding that names the user (or one of its groups, or its
 * service account) refers to a role with a rule covering the verb and resource (or URL path).
 * Roles and bindings are read through `PolicySource`, which the server backs with a cache kept
 * fresh by a watch.
 */
import { matchesSubject, referencedRole, snapshotOf } from './rule-resolver.ts';
import type { Attributes, Authorizer, Decision } from './types.ts';

export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

export interface RoleRef {
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface Role {
  metadata: { name?: string; namespace?: string };
  rules?: PolicyRule[];
}

export interface Binding {
  metadata: { name?: string; namespace?: string };
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface PolicySource {
  clusterRoles(): Promise<readonly Role[]>;
  roles(): Promise<readonly Role[]>;
  clusterRoleBindings(): Promise<readonly Binding[]>;
  roleBindings(): Promise<readonly Binding[]>;
}

const has = (list: readonly string[] | undefined, value: string) => (list ?? []).some((v) => v === '*' || v === value);

export function ruleAllows(rule: PolicyRule, attributes: Attributes): boolean {
  if (!has(rule.verbs, attributes.verb)) return false;
  if (attributes.resource === undefined) {
    const path = attributes.path ?? '';
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
  }
  const r = attributes.resource;
  if (!has(rule.apiGroups, r.group)) return false;
  const full = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const resourceOk = (rule.resources ?? []).some((x) => x === '*' || x === full || (r.subresource !== '' && x === `*/${r.subresource}`) || (x === `${r.resource}/*` && r.subresource !== ''));
  if (!resourceOk) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return r.name !== '' && rule.resourceNames.includes(r.name);
  return true;
}

export class RbacAuthorizer implements Authorizer {
  readonly #source: PolicySource;
  constructor(source: PolicySource) {
    this.#source = source;
  }

  async authorize(attributes: Attributes): Promise<Decision> {
    const { user } = attributes;
    const policy = await snapshotOf(this.#source);
    for (const binding of policy.clusterRoleBindings) {
      if (!(binding.subjects ?? []).some((s) => matchesSubject(s, user, undefined))) continue;
      if ((referencedRole(policy, binding.roleRef, '')?.rules ?? []).some((rule) => ruleAllows(rule, attributes))) {
        return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${binding.metadata.name}"` };
      }
    }
    const namespace = attributes.resource?.namespace;
    if (namespace) {
      for (const binding of policy.roleBindings) {
        if (binding.metadata.namespace !== namespace) continue;
        if (!(binding.subjects ?? []).some((s) => matchesSubject(s, user, namespace))) continue;
        if ((referencedRole(policy, binding.roleRef, namespace)?.rules ?? []).some((rule) => ruleAllows(rule, attributes))) {
          return { allowed: true, reason: `RBAC: allowed by RoleBinding "${binding.metadata.name}/${namespace}"` };
        }
      }
    }
    return { allowed: false, reason: '' };
  }
}

/** Members of system:masters may do anything, whatever RBAC says (as upstream). */
export const mastersAuthorizer: Authorizer = {
  async authorize({ user }) {
    return user.groups.includes('system:masters') ? { allowed: true, reason: 'system:masters' } : { allowed: false, reason: '' };
  },
};

/** Asks each authorizer in turn; the first that allows wins. */
export function unionAuthorizer(authorizers: readonly Authorizer[]): Authorizer {
  return {
    async authorize(attributes) {
      for (const authorizer of authorizers) {
        const decision = await authorizer.authorize(attributes);
        if (decision.allowed) return decision;
      }
      return { allowed: false, reason: '' };
    },
  };
}
