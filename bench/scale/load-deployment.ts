/** A Deployment of `replicas` small pods (5m CPU, 8 MiB each): load for hollow nodes. */
import type { KubeObject } from '../../kube/types.ts';

export function loadDeployment(namespace: string, index: number, replicas: number): KubeObject {
  const app = `load-${index}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        // the default service-account token volume: hollow nodes write it without mounting anything
        spec: {
          containers: [
            { name: 'app', image: 'registry.local/scale/app:1', resources: { requests: { cpu: '5m', memory: '8Mi' } } },
          ],
        },
      },
    },
  } as KubeObject;
}
