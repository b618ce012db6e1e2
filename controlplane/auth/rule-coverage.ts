/**
 * Whether one set of RBAC rules holds every permission of another: the arithmetic behind the
 * escalation check (a user may grant only what it already holds). Each requested rule is split
 * into atoms of one group, one resource, one verb (and one resourceName or one URL); an atom is
 * covered when a single held rule covers it. Wildcards count as upstream counts them: `*` verbs,
 * groups and resources, `*\/<subresource>`, a held rule without resourceNames covers every name,
 * and a held URL ending in `*` covers every path below it.
 */
import type { PolicyRule } from './rbac.ts';

const anyOf = (held: readonly string[] | undefined, value: string) =>
  (held ?? []).some((h) => h === '*' || h === value);
const listed = (held: readonly string[] | undefined, value: string) => (held ?? []).includes(value);

/**
 * Rules as a client sent them, made safe to reason about before validation has looked at them:
 * a single string where a list belongs counts as that one entry (the strictest reading, so a
 * malformed rule never grants more than it seems to), anything else that is not a list as none.
 */
export function requestedRules(value: unknown): PolicyRule[] {
  if (!Array.isArray(value)) return [];
  const list = (v: unknown): string[] | undefined =>
    Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : undefined;
  return value
    .filter(
      (rule): rule is Record<string, unknown> => typeof rule === 'object' && rule !== null && !Array.isArray(rule),
    )
    .map((rule) => {
      const normalized: PolicyRule = {};
      for (const field of ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const) {
        const values = list(rule[field]);
        if (values !== undefined) normalized[field] = values;
      }
      return normalized;
    });
}

/** The requested rule as atoms of one verb on one resource (and one name) or on one URL. */
function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const atoms: PolicyRule[] = [];
  const verbs = rule.verbs ?? [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of verbs) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) atoms.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        for (const name of names)
          atoms.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? [])
    for (const verb of verbs) atoms.push({ nonResourceURLs: [url], verbs: [verb] });
  return atoms;
}

function resourceCovered(held: readonly string[] | undefined, resource: string): boolean {
  if (anyOf(held, resource)) return true;
  const slash = resource.indexOf('/');
  return slash >= 0 && listed(held, `*${resource.slice(slash)}`);
}

function urlCovered(held: readonly string[] | undefined, path: string): boolean {
  return (held ?? []).some((h) => h === path || (h.endsWith('*') && path.startsWith(h.replace(/\*+$/, ''))));
}

/** Whether one held rule covers one atom (as produced by breakdownRule). */
function ruleCovers(held: PolicyRule, atom: PolicyRule): boolean {
  const verb = atom.verbs?.[0] ?? '';
  if (!anyOf(held.verbs, verb)) return false;
  const url = atom.nonResourceURLs?.[0];
  if (url !== undefined) return urlCovered(held.nonResourceURLs, url);
  if (!anyOf(held.apiGroups, atom.apiGroups?.[0] ?? '') || !resourceCovered(held.resources, atom.resources?.[0] ?? ''))
    return false;
  const heldNames = held.resourceNames ?? [];
  if (heldNames.length === 0) return true;
  const name = atom.resourceNames?.[0];
  return name !== undefined && heldNames.includes(name);
}

/** The atoms of `requested` that no rule of `held` covers (empty: held covers requested). */
export function uncoveredRules(held: readonly PolicyRule[], requested: readonly PolicyRule[]): PolicyRule[] {
  return requested.flatMap(breakdownRule).filter((atom) => !held.some((rule) => ruleCovers(rule, atom)));
}

/** Merges atoms that differ only in their verb, so a refusal lists each resource once. */
function compactRules(atoms: readonly PolicyRule[]): PolicyRule[] {
  const merged = new Map<string, PolicyRule>();
  const others: PolicyRule[] = [];
  for (const atom of atoms) {
    if (atom.nonResourceURLs !== undefined || atom.apiGroups?.length !== 1 || atom.resources?.length !== 1) {
      others.push(atom);
      continue;
    }
    const key = JSON.stringify([atom.apiGroups[0], atom.resources[0], atom.resourceNames ?? []]);
    const existing = merged.get(key);
    if (existing) existing.verbs = [...(existing.verbs ?? []), ...(atom.verbs ?? [])];
    else merged.set(key, { ...atom, verbs: [...(atom.verbs ?? [])] });
  }
  return [...others, ...merged.values()];
}

/** Go's %q of a string list: ["a" "b"]. */
export const quotedList = (values: readonly string[]) => `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;

/** A rule as upstream prints it in escalation errors: {APIGroups:[""], Resources:["pods"], Verbs:["get"]}. */
function compactString(rule: PolicyRule): string {
  const parts: string[] = [];
  const add = (label: string, values: readonly string[] | undefined) => {
    if (values && values.length > 0) parts.push(`${label}:${quotedList(values)}`);
  };
  add('APIGroups', rule.apiGroups);
  add('Resources', rule.resources);
  add('NonResourceURLs', rule.nonResourceURLs);
  add('ResourceNames', rule.resourceNames);
  add('Verbs', rule.verbs);
  return `{${parts.join(', ')}}`;
}

/** The missing permissions, one per line, sorted, as upstream lists them. */
export function describeMissing(atoms: readonly PolicyRule[]): string {
  return [...new Set(compactRules(atoms).map(compactString))].sort().join('\n');
}
