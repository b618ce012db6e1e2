/**
 * Upstream's `audit.k8s.io/v1` Policy (the file behind `--audit-policy-file`) and the level it
 * gives a request: rules are tried in order and the first that matches decides; no match is
 * `None`. A rule matches when every field it sets matches (users, userGroups, verbs, then either
 * resources/namespaces for resource requests or nonResourceURLs for the others).
 */
import { loadConfigDocument } from '../config-document.ts';

export const auditLevels = ['None', 'Metadata', 'Request', 'RequestResponse'] as const;
export type AuditLevel = (typeof auditLevels)[number];

const auditStages = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;
export type AuditStage = (typeof auditStages)[number];

interface GroupResources {
  readonly group: string;
  /** `pods`, `pods/log`, `pods/*`, `* /status` (without the space), `*`; empty: all of the group. */
  readonly resources: readonly string[];
  readonly resourceNames: readonly string[];
}

interface PolicyRule {
  readonly level: AuditLevel;
  readonly users: readonly string[];
  readonly userGroups: readonly string[];
  readonly verbs: readonly string[];
  readonly resources: readonly GroupResources[];
  readonly namespaces: readonly string[];
  readonly nonResourceURLs: readonly string[];
  readonly omitStages: readonly AuditStage[];
  readonly omitManagedFields?: boolean;
}

export interface AuditPolicy {
  readonly rules: readonly PolicyRule[];
  readonly omitStages: readonly AuditStage[];
  readonly omitManagedFields: boolean;
}

/** What a policy is asked about one request. */
export interface AuditAttributes {
  readonly user: { readonly name: string; readonly groups: readonly string[] } | undefined;
  readonly verb: string;
  /** Absent for non-resource requests (`/healthz`, `/version`, discovery). */
  readonly resource?: {
    readonly group: string;
    readonly resource: string;
    readonly subresource: string;
    readonly namespace: string;
    readonly name: string;
  };
  readonly path: string;
}

export interface AuditDecision {
  readonly level: AuditLevel;
  readonly omitStages: readonly AuditStage[];
  readonly omitManagedFields: boolean;
}

export class AuditPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditPolicyError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(raw: unknown, path: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.some((s) => typeof s !== 'string'))
    throw new AuditPolicyError(`${path}: Invalid value: must be a list of strings`);
  return raw as string[];
}

function stages(raw: unknown, path: string): AuditStage[] {
  return strings(raw, path).map((stage, i) => {
    if (!(auditStages as readonly string[]).includes(stage)) {
      throw new AuditPolicyError(
        `${path}[${i}]: Unsupported value: "${stage}": supported values: ${auditStages.map((s) => `"${s}"`).join(', ')}`,
      );
    }
    return stage as AuditStage;
  });
}

function parseGroupResources(raw: unknown, path: string): GroupResources {
  if (!isRecord(raw)) throw new AuditPolicyError(`${path}: Invalid value: must be an object with group and resources`);
  const group = raw['group'] ?? '';
  if (typeof group !== 'string') throw new AuditPolicyError(`${path}.group: Invalid value: must be a string`);
  const resources = strings(raw['resources'], `${path}.resources`);
  const resourceNames = strings(raw['resourceNames'], `${path}.resourceNames`);
  if (resourceNames.length > 0 && resources.length === 0)
    throw new AuditPolicyError(
      `${path}.resourceNames: Invalid value: using resourceNames requires at least one resource`,
    );
  return { group, resources, resourceNames };
}

function parseRule(raw: unknown, path: string): PolicyRule {
  if (!isRecord(raw)) throw new AuditPolicyError(`${path}: Invalid value: a rule must be an object`);
  const level = raw['level'];
  if (level === undefined || level === '') throw new AuditPolicyError(`${path}.level: Required value`);
  if (!(auditLevels as readonly unknown[]).includes(level)) {
    throw new AuditPolicyError(
      `${path}.level: Unsupported value: "${String(level)}": supported values: ${auditLevels.map((l) => `"${l}"`).join(', ')}`,
    );
  }
  const resources = Array.isArray(raw['resources'])
    ? raw['resources'].map((r, i) => parseGroupResources(r, `${path}.resources[${i}]`))
    : [];
  const namespaces = strings(raw['namespaces'], `${path}.namespaces`);
  const nonResourceURLs = strings(raw['nonResourceURLs'], `${path}.nonResourceURLs`);
  if (nonResourceURLs.length > 0 && (resources.length > 0 || namespaces.length > 0)) {
    throw new AuditPolicyError(
      `${path}.nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs`,
    );
  }
  const omitManagedFields = raw['omitManagedFields'];
  return {
    level: level as AuditLevel,
    users: strings(raw['users'], `${path}.users`),
    userGroups: strings(raw['userGroups'], `${path}.userGroups`),
    verbs: strings(raw['verbs'], `${path}.verbs`),
    resources,
    namespaces,
    nonResourceURLs,
    omitStages: stages(raw['omitStages'], `${path}.omitStages`),
    ...(typeof omitManagedFields === 'boolean' ? { omitManagedFields } : {}),
  };
}

export function auditPolicyFrom(document: unknown): AuditPolicy {
  if (!isRecord(document)) throw new AuditPolicyError('the file is not an audit Policy object');
  if (document['kind'] !== 'Policy' || document['apiVersion'] !== 'audit.k8s.io/v1') {
    throw new AuditPolicyError(
      `got kind "${String(document['kind'])}" apiVersion "${String(document['apiVersion'])}", want kind "Policy" apiVersion "audit.k8s.io/v1"`,
    );
  }
  const rules = document['rules'];
  if (!Array.isArray(rules) || rules.length === 0)
    throw new AuditPolicyError('rules: Required value: a policy needs at least one rule');
  return {
    rules: rules.map((rule, i) => parseRule(rule, `rules[${i}]`)),
    omitStages: stages(document['omitStages'], 'omitStages'),
    omitManagedFields: document['omitManagedFields'] === true,
  };
}

export function parseAuditPolicy(text: string): AuditPolicy {
  return auditPolicyFrom(loadConfigDocument(text, (message) => new AuditPolicyError(message)));
}

function resourceMatches(rule: PolicyRule, resource: NonNullable<AuditAttributes['resource']>): boolean {
  if (rule.namespaces.length > 0 && !rule.namespaces.includes(resource.namespace)) return false;
  if (rule.resources.length === 0) return true;
  const combined = resource.subresource ? `${resource.resource}/${resource.subresource}` : resource.resource;
  return rule.resources.some((gr) => {
    if (gr.group !== resource.group) return false;
    if (gr.resources.length === 0) return true;
    if (gr.resourceNames.length > 0 && !gr.resourceNames.includes(resource.name)) return false;
    return gr.resources.some(
      (pattern) =>
        pattern === '*' ||
        pattern === combined ||
        (resource.subresource !== '' && pattern.startsWith('*/') && pattern.slice(2) === resource.subresource) ||
        (pattern.endsWith('/*') && pattern.slice(0, -2) === resource.resource),
    );
  });
}

function pathMatches(path: string, pattern: string): boolean {
  return pattern === '*' || pattern === path || (pattern.endsWith('*') && path.startsWith(pattern.slice(0, -1)));
}

function ruleMatches(rule: PolicyRule, attributes: AuditAttributes): boolean {
  const { user, resource } = attributes;
  if (rule.users.length > 0 && (user === undefined || !rule.users.includes(user.name))) return false;
  if (rule.userGroups.length > 0 && (user === undefined || !user.groups.some((g) => rule.userGroups.includes(g))))
    return false;
  if (rule.verbs.length > 0 && !rule.verbs.includes(attributes.verb)) return false;
  if (rule.namespaces.length > 0 || rule.resources.length > 0)
    return resource !== undefined && resourceMatches(rule, resource);
  if (rule.nonResourceURLs.length > 0)
    return resource === undefined && rule.nonResourceURLs.some((p) => pathMatches(attributes.path, p));
  return true;
}

/**
 * Requests whose bodies carry credentials: Secrets, TokenRequests and TokenReviews. Whatever the
 * policy says, they are logged at Metadata at most (upstream recommends it; bosun enforces it).
 */
function carriesCredentials(resource: AuditAttributes['resource']): boolean {
  if (resource === undefined) return false;
  if (resource.group === '' && resource.resource === 'secrets') return true;
  if (resource.group === '' && resource.resource === 'serviceaccounts' && resource.subresource === 'token') return true;
  return resource.group === 'authentication.k8s.io' && resource.resource === 'tokenreviews';
}

export function auditDecision(policy: AuditPolicy, attributes: AuditAttributes): AuditDecision {
  const rule = policy.rules.find((r) => ruleMatches(r, attributes));
  if (rule === undefined)
    return { level: 'None', omitStages: policy.omitStages, omitManagedFields: policy.omitManagedFields };
  const capped =
    carriesCredentials(attributes.resource) && auditLevels.indexOf(rule.level) > auditLevels.indexOf('Metadata');
  return {
    level: capped ? 'Metadata' : rule.level,
    omitStages: [...new Set([...policy.omitStages, ...rule.omitStages])],
    omitManagedFields: rule.omitManagedFields ?? policy.omitManagedFields,
  };
}
