/**
 * The ServiceAccount admission plugin hands a new pod its service account's image pull secrets
 * when the pod names none of its own.
 */
import test from 'ava';
import { sharedInProcess } from '../in-process.ts';
import { refs } from '../../../kube/resource-ref.ts';
import type { Pod } from '../../../kube/corev1.ts';

const api = sharedInProcess(test);

const podFor = (name: string, serviceAccountName: string, extra: Partial<Pod['spec']> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { serviceAccountName, containers: [{ name: 'app', image: 'registry.example.com/app:1' }], ...extra },
});

test("a pod without imagePullSecrets gets its service account's; a pod with its own keeps them", async (t) => {
  const client = api.client();
  await client.create(refs.serviceaccounts, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'puller', namespace: 'default' },
    imagePullSecrets: [{ name: 'regcred' }, { name: 'mirror' }],
  });
  await client.create(refs.serviceaccounts, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'plain', namespace: 'default' },
  });

  await client.create<Pod>(refs.pods, podFor('inherits', 'puller'));
  t.deepEqual((await client.get<Pod>(refs.pods, 'inherits', 'default')).spec.imagePullSecrets, [
    { name: 'regcred' },
    { name: 'mirror' },
  ]);

  await client.create<Pod>(refs.pods, podFor('own', 'puller', { imagePullSecrets: [{ name: 'mine' }] }));
  t.deepEqual((await client.get<Pod>(refs.pods, 'own', 'default')).spec.imagePullSecrets, [{ name: 'mine' }]);

  await client.create<Pod>(refs.pods, podFor('none', 'plain'));
  t.is((await client.get<Pod>(refs.pods, 'none', 'default')).spec.imagePullSecrets, undefined);
});
