/** The official JavaScript client (@kubernetes/client-node) lists and watches against bosun server. */
import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { startInProcess, type InProcessServer } from '../in-process.ts';
import { waitFor } from '../ports.ts';

let env: InProcessServer;
test.before(async () => {
  env = await startInProcess();
});
test.after.always(async () => {
  await env?.destroy();
});

test('@kubernetes/client-node: create, list and watch configmaps', async (t) => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.server.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name: 'from-js', labels: { via: 'js' } }, data: { k: 'v' } },
  });
  const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'via=js' });
  t.deepEqual(
    list.items.map((i) => i.metadata?.name),
    ['from-js'],
  );
  t.truthy(list.metadata?.resourceVersion);

  const events: string[] = [];
  const watch = new k8s.Watch(kc);
  const controller = await watch.watch(
    '/api/v1/namespaces/default/configmaps',
    { resourceVersion: list.metadata!.resourceVersion!, labelSelector: 'via=js' },
    (type: string, object: k8s.V1ConfigMap) => events.push(`${type} ${object.metadata?.name}`),
    () => undefined,
  );
  try {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'second', labels: { via: 'js' } } },
    });
    await core.deleteNamespacedConfigMap({ name: 'from-js', namespace: 'default' });
    await waitFor('two watch events through client-node', () => events.length >= 2, 5000);
    t.deepEqual(events, ['ADDED second', 'DELETED from-js']);
  } finally {
    controller.abort();
  }
});
