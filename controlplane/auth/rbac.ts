/**
 * RBAC: a request is allowed when some binding that names the user (or one of its groups, or its
 * service account) refers to a role with a rule covering the verb and resource (or URL path).
 * Roles and bindings are read through `PolicySource`, which the server backs with a cache kept
 * fresh by a watch.
 */
import type { Attributes, Authorizer, Decision, UserInfo } from './types.ts';

export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
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

export function matchesSubject(subject: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount':
      return user.name === `system:serviceaccount:${subject.namespace ?? bindingNamespace}:${subject.name}`;
    default:
      return false;
  }
}

/** Whether a binding names the user, one of its groups, or its service account. */
export function bindingApplies(binding: Binding, user: UserInfo, bindingNamespace: string | undefined): boolean {
  return (binding.subjects ?? []).some((s) => matchesSubject(s, user, bindingNamespace));
}

const has = (list: readonly string[] | undefined, value: string) => (list ?? []).some((v) => v === '*' || v === value);

function ruleAllows(rule: PolicyRule, attributes: Attributes): boolean {
  if (!has(rule.verbs, attributes.verb)) return false;
  if (attributes.resource === undefined) {
    const path = attributes.path ?? '';
    return (rule.nonResourceURLs ?? []).some(
      (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))),
    );
  }
  const r = attributes.resource;
  if (!has(rule.apiGroups, r.group)) return false;
  const full = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const resourceOk = (rule.resources ?? []).some(
    (x) =>
      x === '*' ||
      x === full ||
      (r.subresource !== '' && x === `*/${r.subresource}`) ||
      (x === `${r.resource}/*` && r.subresource !== ''),
  );
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
    const clusterRoles = await this.#source.clusterRoles();
    const clusterRoleRules = (ref: RoleRef): PolicyRule[] =>
      ref.kind === 'ClusterRole' ? (clusterRoles.find((r) => r.metadata.name === ref.name)?.rules ?? []) : [];
    for (const binding of await this.#source.clusterRoleBindings()) {
      if (!bindingApplies(binding, user, undefined)) continue;
      if (clusterRoleRules(binding.roleRef).some((rule) => ruleAllows(rule, attributes))) {
        return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${binding.metadata.name}"` };
      }
    }
    const namespace = attributes.resource?.namespace;
    if (namespace) {
      const roles = await this.#source.roles();
      for (const binding of await this.#source.roleBindings()) {
        if (binding.metadata.namespace !== namespace) continue;
        if (!bindingApplies(binding, user, namespace)) continue;
        const rules =
          binding.roleRef.kind === 'Role'
            ? (roles.find((r) => r.metadata.namespace === namespace && r.metadata.name === binding.roleRef.name)
                ?.rules ?? [])
            : clusterRoleRules(binding.roleRef);
        if (rules.some((rule) => ruleAllows(rule, attributes))) {
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
    return user.groups.includes('system:masters')
      ? { allowed: true, reason: 'system:masters' }
      : { allowed: false, reason: '' };
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
