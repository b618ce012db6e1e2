/**
 * The APIServices of the groups this server serves itself (`v1.`, `v1.apps`, ...), as upstream's
 * aggregator registers them at start ("Local" in `kubectl get apiservices`), with upstream's group
 * and version priorities. apiregistration.k8s.io is the aggregator's own group and has none.
 */
import type { KubeObject } from '../../../kube/types.ts';
import { groups } from '../resources.ts';

/** Upstream's priorities of the built-in groups (kube-apiserver's apiVersionPriorities). */
const priorities: Readonly<Record<string, { group: number; version: number }>> = {
  'v1.': { group: 18000, version: 1 },
  'v1.apps': { group: 17800, version: 15 },
  'v1.events.k8s.io': { group: 17750, version: 15 },
  'v1.authentication.k8s.io': { group: 17700, version: 15 },
  'v1.authorization.k8s.io': { group: 17600, version: 15 },
  'v2.autoscaling': { group: 17500, version: 30 },
  'v1.autoscaling': { group: 17500, version: 15 },
  'v1.batch': { group: 17400, version: 15 },
  'v1.certificates.k8s.io': { group: 17300, version: 15 },
  'v1.rbac.authorization.k8s.io': { group: 17000, version: 15 },
  'v1.admissionregistration.k8s.io': { group: 16700, version: 15 },
  'v1.coordination.k8s.io': { group: 16500, version: 15 },
  'v1.discovery.k8s.io': { group: 16200, version: 15 },
};

export function localApiServices(): KubeObject[] {
  return groups()
    .filter((g) => g.name !== 'apiregistration.k8s.io')
    .flatMap((g) => {
      const name = `${g.version}.${g.name}`;
      const priority = priorities[name];
      if (priority === undefined) return [];
      return [
        {
          apiVersion: 'apiregistration.k8s.io/v1',
          kind: 'APIService',
          metadata: { name, labels: { 'kube-aggregator.kubernetes.io/automanaged': 'onstart' } },
          spec: {
            group: g.name,
            version: g.version,
            groupPriorityMinimum: priority.group,
            versionPriority: priority.version,
          },
        },
      ];
    });
}
