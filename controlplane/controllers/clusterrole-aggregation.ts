/**
 * ClusterRole aggregation, as upstream's clusterrole-aggregation controller: a ClusterRole with an
 * aggregationRule holds exactly the rules of the other ClusterRoles its selectors match, taken in
 * name order, each rule once. So a role labelled rbac.authorization.k8s.io/aggregate-to-edit
 * extends `edit` (and through it `admin`), and what authorizes, and what the escalation check
 * compares against, is the stored rules, as upstream.
 */
import { matchesLabels, selectorFromObject, type LabelSelectorObject } from '../../kube/labels.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Plan } from './actions.ts';
import type { Caches, ControllerSpec } from './manager.ts';

type Any = Record<string, any>;

const selectorsOf = (role: KubeObject): LabelSelectorObject[] | undefined =>
  (role as Any).aggregationRule?.clusterRoleSelectors;

/** Whether `aggregator` gathers the rules of `role`. */
function gathers(aggregator: KubeObject, role: KubeObject): boolean {
  if (aggregator.metadata.name === role.metadata.name) return false;
  return (selectorsOf(aggregator) ?? []).some((selector) =>
    matchesLabels(selectorFromObject(selector), role.metadata.labels),
  );
}

/** The rules an aggregated ClusterRole should hold, given every ClusterRole. */
export function aggregatedRules(aggregator: KubeObject, all: readonly KubeObject[]): object[] {
  const sources = all
    .filter((role) => gathers(aggregator, role))
    .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  const seen = new Set<string>();
  const rules: object[] = [];
  for (const rule of sources.flatMap((role) => ((role as Any).rules ?? []) as object[])) {
    const key = JSON.stringify(rule);
    if (seen.has(key)) continue;
    seen.add(key);
    rules.push(rule);
  }
  return rules;
}

export function planAggregation(role: KubeObject, caches: Caches): Plan {
  if (selectorsOf(role) === undefined) return { actions: [] };
  const rules = aggregatedRules(role, caches.list('clusterroles'));
  if (JSON.stringify(rules) === JSON.stringify((role as Any).rules ?? [])) return { actions: [] };
  return { actions: [{ kind: 'update', resource: 'clusterroles', object: { ...role, rules } as KubeObject }] };
}

export const clusterRoleAggregationController: ControllerSpec = {
  name: 'clusterrole-aggregation',
  primary: 'clusterroles',
  // a changed role concerns every aggregator that gathers it (or gathered it: its old labels are
  // gone, so every aggregator looks again; there are few)
  triggers: [
    {
      resource: 'clusterroles',
      keysFor: (_role, caches) =>
        caches
          .list('clusterroles')
          .filter((r) => selectorsOf(r) !== undefined)
          .map((r) => r.metadata.name ?? ''),
    },
  ],
  plan: planAggregation,
  ownsWhatItTouches: false,
};
