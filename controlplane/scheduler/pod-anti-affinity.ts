/**
 * Required pod anti-affinity: a pod refuses topology domains (a node, for kubernetes.io/hostname)
 * that already run pods matching its terms, and existing pods' terms refuse the newcomer in turn.
 * The result is computed once per pod as a set of forbidden (topologyKey, value) domains, and each
 * node is then checked against it in O(terms).
 */
import type { Node, Pod } from '../../kube/corev1.ts';
import { matchesLabels, selectorFromObject, type LabelSelectorObject } from '../../kube/labels.ts';

export interface PodAffinityTerm {
  labelSelector?: LabelSelectorObject;
  namespaces?: string[];
  /** Only the empty selector (all namespaces) is understood; namespace labels are not consulted. */
  namespaceSelector?: LabelSelectorObject;
  topologyKey: string;
}

interface PodAntiAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
}

export function podAntiAffinityTerms(pod: Pod): PodAffinityTerm[] {
  const antiAffinity = pod.spec.affinity?.podAntiAffinity as PodAntiAffinity | undefined;
  return antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
}

function termSelectsPod(term: PodAffinityTerm, termOwnerNamespace: string | undefined, candidate: Pod): boolean {
  if (term.labelSelector === undefined) return false;
  const everyNamespace = term.namespaceSelector !== undefined && Object.keys(term.namespaceSelector).length === 0;
  if (!everyNamespace) {
    const namespaces = term.namespaces !== undefined && term.namespaces.length > 0 ? term.namespaces : [termOwnerNamespace];
    if (!namespaces.includes(candidate.metadata.namespace)) return false;
  }
  return matchesLabels(selectorFromObject(term.labelSelector), candidate.metadata.labels);
}

export type AntiAffinityVerdict = 'fits' | 'own-rules' | 'existing-pods-rules';

export interface ForbiddenDomains {
  /** topologyKey → values forbidden by the incoming pod's own terms. */
  readonly byOwnTerms: Map<string, Set<string>>;
  /** topologyKey → values forbidden by terms of pods already placed. */
  readonly byExistingPods: Map<string, Set<string>>;
}

function forbid(map: Map<string, Set<string>>, key: string, value: string): void {
  let values = map.get(key);
  if (values === undefined) map.set(key, (values = new Set()));
  values.add(value);
}

/** Walks the placed pods once and collects the domains the incoming pod may not join. */
export function forbiddenDomains(pod: Pod, placed: Iterable<{ node: Node | undefined; pods: Iterable<Pod> }>, checkExisting: boolean): ForbiddenDomains {
  const result: ForbiddenDomains = { byOwnTerms: new Map(), byExistingPods: new Map() };
  const ownTerms = podAntiAffinityTerms(pod);
  if (ownTerms.length === 0 && !checkExisting) return result;
  for (const { node, pods } of placed) {
    if (node === undefined) continue;
    const labels = node.metadata.labels ?? {};
    for (const existing of pods) {
      for (const term of ownTerms) {
        const value = labels[term.topologyKey];
        if (value !== undefined && termSelectsPod(term, pod.metadata.namespace, existing)) forbid(result.byOwnTerms, term.topologyKey, value);
      }
      if (!checkExisting) continue;
      for (const term of podAntiAffinityTerms(existing)) {
        const value = labels[term.topologyKey];
        if (value !== undefined && termSelectsPod(term, existing.metadata.namespace, pod)) forbid(result.byExistingPods, term.topologyKey, value);
      }
    }
  }
  return result;
}

export function antiAffinityVerdict(node: Node, domains: ForbiddenDomains): AntiAffinityVerdict {
  const labels = node.metadata.labels ?? {};
  const hits = (map: Map<string, Set<string>>) => {
    for (const [key, values] of map) {
      const value = labels[key];
      if (value !== undefined && values.has(value)) return true;
    }
    return false;
  };
  if (hits(domains.byExistingPods)) return 'existing-pods-rules';
  if (hits(domains.byOwnTerms)) return 'own-rules';
  return 'fits';
}
