/**
 * Required inter-pod affinity and anti-affinity. Anti-affinity: a pod refuses topology domains (a
 * node, for kubernetes.io/hostname; a zone, for topology.kubernetes.io/zone) that already run pods
 * matching its terms, and existing pods' terms refuse the newcomer in turn. Affinity: a pod needs a
 * domain that already runs a matching pod — except the first of a group, which may go anywhere if
 * it matches its own term (otherwise no group could ever start). Everything is computed once per
 * pod as sets of domains; each node is then checked in O(terms).
 */
import type { Node, Pod } from '../../kube/corev1.ts';
import { matchesLabels, selectorFromObject, type LabelSelectorObject } from '../../kube/labels.ts';

interface PodAffinityTerm {
  labelSelector?: LabelSelectorObject;
  namespaces?: string[];
  /** Only the empty selector (all namespaces) is understood; namespace labels are not consulted. */
  namespaceSelector?: LabelSelectorObject;
  topologyKey: string;
}

interface RequiredTerms {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
}

export function podAntiAffinityTerms(pod: Pod): PodAffinityTerm[] {
  return (
    (pod.spec.affinity?.podAntiAffinity as RequiredTerms | undefined)?.requiredDuringSchedulingIgnoredDuringExecution ??
    []
  );
}

function podAffinityTerms(pod: Pod): PodAffinityTerm[] {
  return (
    (pod.spec.affinity?.podAffinity as RequiredTerms | undefined)?.requiredDuringSchedulingIgnoredDuringExecution ?? []
  );
}

function termSelectsPod(term: PodAffinityTerm, termOwnerNamespace: string | undefined, candidate: Pod): boolean {
  if (term.labelSelector === undefined) return false;
  const everyNamespace = term.namespaceSelector !== undefined && Object.keys(term.namespaceSelector).length === 0;
  if (!everyNamespace) {
    const namespaces =
      term.namespaces !== undefined && term.namespaces.length > 0 ? term.namespaces : [termOwnerNamespace];
    if (!namespaces.includes(candidate.metadata.namespace)) return false;
  }
  return matchesLabels(selectorFromObject(term.labelSelector), candidate.metadata.labels);
}

type InterPodVerdict = 'fits' | 'existing-pods-anti-affinity' | 'affinity' | 'anti-affinity';

interface AffinityNeed {
  readonly term: PodAffinityTerm;
  /** Values of term.topologyKey where a matching pod runs. */
  readonly domains: Set<string>;
  /** Whether any placed pod matches at all. */
  anyMatch: boolean;
  /** Whether the incoming pod matches its own term (it may then start a group). */
  readonly selfMatch: boolean;
}

export interface InterPodDomains {
  /** topologyKey → values forbidden by the incoming pod's own anti-affinity terms. */
  readonly byOwnTerms: Map<string, Set<string>>;
  /** topologyKey → values forbidden by anti-affinity terms of pods already placed. */
  readonly byExistingPods: Map<string, Set<string>>;
  readonly affinity: readonly AffinityNeed[];
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  let values = map.get(key);
  if (values === undefined) map.set(key, (values = new Set()));
  values.add(value);
}

/** Walks the placed pods once and collects the domains the incoming pod may not (or must) join. */
export function interPodDomains(
  pod: Pod,
  placed: Iterable<{ node: Node | undefined; pods: Iterable<Pod> }>,
  checkExisting: boolean,
): InterPodDomains {
  const ownAnti = podAntiAffinityTerms(pod);
  const affinity: AffinityNeed[] = podAffinityTerms(pod).map((term) => ({
    term,
    domains: new Set(),
    anyMatch: false,
    selfMatch: termSelectsPod(term, pod.metadata.namespace, pod),
  }));
  const result: InterPodDomains = { byOwnTerms: new Map(), byExistingPods: new Map(), affinity };
  if (ownAnti.length === 0 && affinity.length === 0 && !checkExisting) return result;
  for (const { node, pods } of placed) {
    if (node === undefined) continue;
    const labels = node.metadata.labels ?? {};
    for (const existing of pods) {
      for (const term of ownAnti) {
        const value = labels[term.topologyKey];
        if (value !== undefined && termSelectsPod(term, pod.metadata.namespace, existing))
          add(result.byOwnTerms, term.topologyKey, value);
      }
      for (const need of affinity) {
        if (!termSelectsPod(need.term, pod.metadata.namespace, existing)) continue;
        need.anyMatch = true;
        const value = labels[need.term.topologyKey];
        if (value !== undefined) need.domains.add(value);
      }
      if (!checkExisting) continue;
      for (const term of podAntiAffinityTerms(existing)) {
        const value = labels[term.topologyKey];
        if (value !== undefined && termSelectsPod(term, existing.metadata.namespace, pod))
          add(result.byExistingPods, term.topologyKey, value);
      }
    }
  }
  return result;
}

/** kube-scheduler's order: existing pods' anti-affinity, then the pod's affinity, then its anti-affinity. */
export function interPodVerdict(node: Node, domains: InterPodDomains): InterPodVerdict {
  const labels = node.metadata.labels ?? {};
  const hits = (map: Map<string, Set<string>>) => {
    for (const [key, values] of map) {
      const value = labels[key];
      if (value !== undefined && values.has(value)) return true;
    }
    return false;
  };
  if (hits(domains.byExistingPods)) return 'existing-pods-anti-affinity';
  for (const need of domains.affinity) {
    const value = labels[need.term.topologyKey];
    if (value === undefined) return 'affinity';
    if (need.domains.has(value)) continue;
    // The first pod of a group that selects itself may start it anywhere with the label.
    if (!(need.selfMatch && !domains.affinity.some((n) => n.anyMatch))) return 'affinity';
  }
  if (hits(domains.byOwnTerms)) return 'anti-affinity';
  return 'fits';
}
