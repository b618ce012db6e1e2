/**
 * What the soak keeps running: two Deployments and a StatefulSet, each behind a ClusterIP Service,
 * in a namespace of its own. Every backend serves its own pod name, so a request through a
 * Service says which pod (and so which node) answered.
 */
import { dump } from 'js-yaml';
import { sandboxImages } from '../../sandbox/names.ts';
import type { Workload } from './invariants.ts';

export const soakNamespace = 'soak';

export const soakWorkloads: readonly Workload[] = [
  { kind: 'Deployment', name: 'web', namespace: soakNamespace, replicas: 3, matchLabels: { app: 'web' } },
  { kind: 'Deployment', name: 'api', namespace: soakNamespace, replicas: 2, matchLabels: { app: 'api' } },
  { kind: 'StatefulSet', name: 'db', namespace: soakNamespace, replicas: 2, matchLabels: { app: 'db' } },
];

export const soakServices: readonly string[] = soakWorkloads.map((w) => w.name);

/** The backend: busybox httpd on 8080 serving the pod's own name; exits at once on SIGTERM. */
function podTemplate(app: string): object {
  return {
    metadata: { labels: { app } },
    spec: {
      terminationGracePeriodSeconds: 1,
      // spread over the nodes, so that a Service can answer from a node other than the client's
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: { app } },
        },
      ],
      containers: [
        {
          name: app,
          image: sandboxImages.busybox,
          command: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'],
          ports: [{ containerPort: 8080 }],
        },
      ],
    },
  };
}

/** The manifests, each object a document of one YAML stream, as a user's file would be. */
export function soakManifests(): string {
  const items: object[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: soakNamespace } }];
  for (const w of soakWorkloads) {
    const spec = { replicas: w.replicas, selector: { matchLabels: w.matchLabels }, template: podTemplate(w.name) };
    items.push(
      w.kind === 'Deployment'
        ? { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: w.name, namespace: soakNamespace }, spec }
        : {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            metadata: { name: w.name, namespace: soakNamespace },
            spec: { ...spec, serviceName: w.name, podManagementPolicy: 'Parallel' },
          },
    );
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: w.name, namespace: soakNamespace },
      spec: { selector: w.matchLabels, ports: [{ port: 80, targetPort: 8080 }] },
    });
  }
  return items.map((item) => dump(item)).join('---\n');
}
