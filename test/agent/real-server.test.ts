/**
 * The agent's pod machinery end to end with real parts: pods created through a real `bosun server`
 * with spec.nodeName set reach the agent through an informer (fieldSelector spec.nodeName), run on
 * a test-bed node's real containerd, report their status through the status subresource, and a
 * deleted pod is stopped and let go so the API object disappears.
 */
import test from 'ava';
import { createBed, bedImages, type Bed } from '../bed/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { startServerProcess, type ServerProcess } from '../controlplane/server-process.ts';
import { CriClient } from '../../cri/client.ts';
import { KubeClient } from '../../kube/client.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { refs } from '../../kube/resource-ref.ts';
import { isApiError } from '../../kube/errors.ts';
import type { Pod } from '../../kube/corev1.ts';
import { pino } from 'pino';
import { systemClock } from '../../kube/clock.ts';
import { noConfigLookup } from '../../agent/pods/pod-executor.ts';
import { startBedPods, type BedPods } from './bed-pods.ts';
import { NodeLease } from '../../agent/node/lease.ts';
import { kubeLeaseApi } from '../../agent/node/kube-lease-api.ts';
import type { Lease } from '../../kube/corev1.ts';

let bed: Bed | undefined;
let server: ServerProcess | undefined;
let client: KubeClient | undefined;
let cri: CriClient | undefined;
let pods: BedPods | undefined;

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  bed = await createBed({ nodes: 1 });
  const node = bed.nodes[0]!;
  client = new KubeClient(loadKubeconfig(server.kubeconfig).client);
  pods = await startBedPods(node, client, noConfigLookup);
  cri = pods.cri;
});

test.after.always(async () => {
  pods?.close();
  client?.close();
  await bed?.destroy();
  await server?.destroy();
});

test.serial('a pod created through bosun server runs on the node and its status reaches the API', async (t) => {
  const created = performance.now();
  await client!.create<Pod>(refs.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'hello', namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      terminationGracePeriodSeconds: 5,
      initContainers: [
        {
          name: 'proxy',
          image: bedImages.busybox,
          restartPolicy: 'Always',
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
        },
      ],
      containers: [
        {
          name: 'app',
          image: bedImages.busybox,
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
          readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
        },
      ],
    },
  });
  const ready = await waitFor(
    async () => {
      const pod = await client!.get<Pod>(refs.pods, 'hello', 'default');
      return pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? pod : undefined;
    },
    { what: 'pod hello Ready in the API', timeoutMs: 60_000 },
  );
  t.log(`Ready in the API ${Math.round(performance.now() - created)} ms after create`);
  t.is(ready.status?.phase, 'Running');
  t.regex(ready.status?.podIP ?? '', /^10\.244\.1\.\d+$/);
  t.regex(ready.status?.containerStatuses?.[0]?.containerID ?? '', /^containerd:\/\/[0-9a-f]{64}$/);
  t.true(ready.status?.initContainerStatuses?.[0]?.started);
  t.is(ready.status?.qosClass, 'BestEffort');
});

test.serial('deleting the pod through the API stops it and the object goes away', async (t) => {
  const before = await client!.get<Pod>(refs.pods, 'hello', 'default');
  const lingering = await client!.delete<Pod>(refs.pods, 'hello', { namespace: 'default' });
  t.truthy(lingering.metadata.deletionTimestamp, 'the server keeps the pod until the agent lets it go');
  await waitFor(
    async () => {
      try {
        await client!.get(refs.pods, 'hello', 'default');
        return false;
      } catch (err) {
        return isApiError(err, 'NotFound');
      }
    },
    { what: 'pod hello gone from the API after its containers stopped', timeoutMs: 60_000 },
  );
  await waitFor(
    async () =>
      (await cri!.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': before.metadata.uid! } })).length === 0,
    {
      what: 'the pod sandbox removed from containerd',
      timeoutMs: 30_000,
    },
  );
});

test.serial('the node lease is written to the API and recreated after someone deletes it', async (t) => {
  // its own client: the heartbeat never queues behind pod traffic
  const leaseClient = new KubeClient({ ...loadKubeconfig(server!.kubeconfig).client, timeoutMs: 10_000 });
  const abort = new AbortController();
  const lease = new NodeLease({
    api: kubeLeaseApi(leaseClient),
    nodeName: 'node-1',
    nodeUid: undefined,
    clock: systemClock,
    log: pino({ level: 'silent' }),
    renewIntervalMs: 300,
  });
  const running = lease.run(abort.signal);
  try {
    const first = await waitFor(
      async () => {
        const found = await client!.get<Lease>(refs.leases, 'node-1', 'kube-node-lease').catch(() => undefined);
        return found?.spec?.holderIdentity === 'node-1' ? found : undefined;
      },
      { what: 'lease kube-node-lease/node-1 held by node-1', timeoutMs: 10_000 },
    );
    t.is(first.spec?.leaseDurationSeconds, 40);
    await waitFor(
      async () => {
        const now = await client!.get<Lease>(refs.leases, 'node-1', 'kube-node-lease');
        return now.spec?.renewTime !== first.spec?.renewTime;
      },
      { what: 'a second renewal of the lease', timeoutMs: 10_000 },
    );
    const deleted = await client!.get<Lease>(refs.leases, 'node-1', 'kube-node-lease');
    await client!.delete(refs.leases, 'node-1', { namespace: 'kube-node-lease' });
    const recreated = await waitFor(
      async () => {
        const found = await client!.get<Lease>(refs.leases, 'node-1', 'kube-node-lease').catch(() => undefined);
        return found !== undefined && found.metadata.uid !== deleted.metadata.uid ? found : undefined;
      },
      { what: 'the deleted lease created again', timeoutMs: 10_000 },
    );
    t.is(recreated.spec?.holderIdentity, 'node-1');
  } finally {
    abort.abort();
    await running;
    leaseClient.close();
  }
});
