/**
 * Every active namespace has a ServiceAccount named `default`, which pods use when they name none
 * (the API's defaulting sets serviceAccountName to it). Deleting it brings it back.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Plan } from './actions.ts';
import type { ControllerSpec } from './manager.ts';

export function planDefaultServiceAccount(ns: KubeObject, existing: KubeObject | undefined): Plan {
  const phase = (ns.status as { phase?: string } | undefined)?.phase;
  if (existing !== undefined || ns.metadata.deletionTimestamp || phase === 'Terminating') return { actions: [] };
  return {
    actions: [
      {
        kind: 'create',
        resource: 'serviceaccounts',
        object: {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'default', namespace: ns.metadata.name },
        },
      },
    ],
  };
}

export const serviceAccountController: ControllerSpec = {
  name: 'serviceaccount',
  primary: 'namespaces',
  triggers: [
    {
      resource: 'serviceaccounts',
      keysFor: (sa) => (sa.metadata.name === 'default' && sa.metadata.namespace ? [sa.metadata.namespace] : []),
    },
  ],
  plan: (ns, caches) => planDefaultServiceAccount(ns, caches.get('serviceaccounts', `${ns.metadata.name}/default`)),
};
