/**
 * The root CA publisher: every active namespace has a ConfigMap `kube-root-ca.crt` whose `ca.crt`
 * is the cluster CA, so pods can verify the API server (the service-account volume mounts it as
 * /var/run/secrets/kubernetes.io/serviceaccount/ca.crt). A changed or deleted copy is put back.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Plan } from './actions.ts';
import type { ControllerSpec } from './manager.ts';

const rootCaConfigMapName = 'kube-root-ca.crt';
const description =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export function planRootCaConfigMap(ns: KubeObject, existing: KubeObject | undefined, caPem: string): Plan {
  const phase = (ns.status as { phase?: string } | undefined)?.phase;
  if (ns.metadata.deletionTimestamp || phase === 'Terminating') return { actions: [] };
  const data = { 'ca.crt': caPem };
  if (existing === undefined) {
    const object = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: rootCaConfigMapName,
        namespace: ns.metadata.name,
        annotations: { 'kubernetes.io/description': description },
      },
      data,
    };
    return { actions: [{ kind: 'create', resource: 'configmaps', object }] };
  }
  const current = (existing as { data?: Record<string, string> }).data;
  if (current?.['ca.crt'] === caPem && Object.keys(current).length === 1) return { actions: [] };
  return { actions: [{ kind: 'update', resource: 'configmaps', object: { ...existing, data } as KubeObject }] };
}

export function rootCaPublisher(caPem: string): ControllerSpec {
  return {
    name: 'root-ca-cert-publisher',
    primary: 'namespaces',
    triggers: [
      {
        resource: 'configmaps',
        keysFor: (cm) =>
          cm.metadata.name === rootCaConfigMapName && cm.metadata.namespace ? [cm.metadata.namespace] : [],
      },
    ],
    plan: (ns, caches) =>
      planRootCaConfigMap(ns, caches.get('configmaps', `${ns.metadata.name}/${rootCaConfigMapName}`), caPem),
  };
}
