/**
 * DefaultTolerationSeconds with the server's own times (kube-apiserver's
 * --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds): new pods get
 * them for the taint they do not tolerate already; their own tolerations stay as written.
 */
import test from 'ava';
import { KubeClient } from '../../../kube/client.ts';
import type { Pod, Toleration } from '../../../kube/corev1.ts';
import { refs } from '../../../kube/resource-ref.ts';
import { startInProcess, type InProcessServer } from '../in-process.ts';

let server: InProcessServer | undefined;
let client: KubeClient | undefined;
test.before(async () => {
  server = await startInProcess({ defaultTolerationSeconds: { notReady: 20, unreachable: 600 } });
  client = new KubeClient(server.admin);
});
test.after.always(async () => {
  client?.close();
  await server?.destroy();
});

test('a pod gets the configured times; a toleration it wrote itself is kept as written', async (t) => {
  const own: Toleration = {
    key: 'node.kubernetes.io/unreachable',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 5,
  };
  const pod = await client!.create<Pod>(refs.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'busybox' }], tolerations: [own] },
  });
  t.deepEqual(pod.spec.tolerations, [
    own,
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 20 },
  ]);
  const plain = await client!.create<Pod>(refs.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'q', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  });
  t.deepEqual(
    plain.spec.tolerations?.map((x) => x.tolerationSeconds),
    [20, 600],
  );
});
