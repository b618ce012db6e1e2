/**
 * Node selector terms (required and preferred node affinity) and the plain nodeSelector map.
 * Terms are ORed; inside a term every requirement must hold. matchFields knows one field, as in the
 * API: metadata.name.
 */
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from '../../kube/corev1.ts';

function integer(text: string | undefined): number | undefined {
  if (text === undefined || !/^[+-]?\d+$/.test(text.trim())) return undefined;
  return Number(text);
}

export function requirementHolds(requirement: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const have = integer(value);
      const bound = integer(values[0]);
      if (have === undefined || bound === undefined || values.length !== 1) return false;
      return requirement.operator === 'Gt' ? have > bound : have < bound;
    }
  }
}

function fieldValue(node: Node, field: string): string | undefined {
  return field === 'metadata.name' ? node.metadata.name : undefined;
}

export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // A term with no requirements selects nothing (the API's rule, so an empty term is not a wildcard).
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  return (
    expressions.every((r) => requirementHolds(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined)) &&
    fields.every((r) => requirementHolds(r, fieldValue(node, r.key)))
  );
}

/** nodeSelector and required node affinity: what the NodeAffinity filter checks. */
export function nodeMatchesPodRequirements(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries(pod.spec.nodeSelector ?? {})) {
    if (labels[key] !== value) return false;
  }
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required === undefined) return true;
  return required.nodeSelectorTerms.some((term) => termMatches(term, node));
}

/** Sum of the weights of the preferred terms the node matches. */
export function preferredAffinityWeight(pod: Pod, node: Node): number {
  let sum = 0;
  for (const preferred of pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (preferred.weight !== 0 && termMatches(preferred.preference, node)) sum += preferred.weight;
  }
  return sum;
}
