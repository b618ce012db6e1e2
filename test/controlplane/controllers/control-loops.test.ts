import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import {
  defaultControllers,
  startControlLoops,
  type RunningControlLoops,
} from '../../../controlplane/controllers/control-loops.ts';
import { systemClock } from '../../../kube/clock.ts';
import type { EndpointSlice } from '../../../kube/discoveryv1.ts';
import type { CronJob, Deployment, Job, ReplicaSet } from '../../../controlplane/controllers/workload-types.ts';
import { waitFor } from '../../helpers/wait.ts';
import { node } from '../scheduler/fixtures.ts';
import { startFakeKubelet, type FakeKubelet } from './fake-kubelet.ts';

const running: (RunningControlLoops | FakeKubelet)[] = [];
test.after.always(async () => {
  for (const r of running) await r.stop();
});

async function cluster(): Promise<{ memory: MemoryCluster; kubelet: FakeKubelet }> {
  const memory = new MemoryCluster();
  for (const name of ['node-a', 'node-b']) await memory.create('nodes', node(name));
  const kubelet = await startFakeKubelet(memory);
  running.push(kubelet);
  running.push(await startControlLoops({ client: memory }));
  return { memory, kubelet };
}

function deployment(image: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image, ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    },
  };
}

function rolledOut(memory: MemoryCluster, image: string, replicas: number): Deployment | undefined {
  const d = memory.peek('deployments', 'default', 'web') as Deployment | undefined;
  const s = d?.status;
  const pods = memory.all('pods') as Pod[];
  const live = pods.filter(
    (p) => !p.metadata.deletionTimestamp && p.spec.containers[0]?.image === image && p.status?.phase === 'Running',
  );
  const stale = pods.filter((p) => p.spec.containers[0]?.image !== image);
  const done =
    s?.observedGeneration === d?.metadata.generation &&
    s?.updatedReplicas === replicas &&
    s?.availableReplicas === replicas &&
    s?.replicas === replicas &&
    s?.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'NewReplicaSetAvailable') &&
    live.length === replicas &&
    stale.length === 0;
  return done ? d : undefined;
}

test('a Deployment rolls out, rolls to a new image within its bounds, and its Service gets endpoints', async (t) => {
  const { memory } = await cluster();
  await memory.create('services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  await memory.create('deployments', deployment('web:1', 3));
  const first = await waitFor(() => rolledOut(memory, 'web:1', 3), {
    what: 'web:1 rolled out with 3 available replicas',
    timeoutMs: 10_000,
  });
  t.is(first.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
  const slices = await waitFor(
    () => {
      const found = memory.all('endpointslices') as EndpointSlice[];
      return found.length === 1 && found[0]!.endpoints?.filter((e) => e.conditions?.ready).length === 3
        ? found
        : undefined;
    },
    { what: 'one EndpointSlice with 3 ready endpoints', timeoutMs: 10_000 },
  );
  t.deepEqual(slices[0]!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);

  // Never more than replicas + maxSurge pods that hold a slot during the update (25% of 3 → surge 1).
  let mostPods = 0;
  const watchSurge = await memory.watch(
    'pods',
    '0',
    () => {
      const count = (memory.all('pods') as Pod[]).filter((p) => !p.metadata.deletionTimestamp).length;
      mostPods = Math.max(mostPods, count);
    },
    () => {},
  );
  const current = memory.peek('deployments', 'default', 'web') as Deployment;
  await memory.update('deployments', {
    ...current,
    spec: { ...current.spec, template: deployment('web:2', 3).spec.template },
  });
  const second = await waitFor(() => rolledOut(memory, 'web:2', 3), { what: 'web:2 rolled out', timeoutMs: 15_000 });
  watchSurge.stop();
  t.is(second.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  t.true(mostPods <= 4, `at most 4 pods at once, saw ${mostPods}`);
  const sets = memory.all('replicasets') as ReplicaSet[];
  t.deepEqual(sets.map((rs) => rs.spec.replicas).sort(), [0, 3]);

  // Undo: the old template comes back and becomes revision 3 on the old ReplicaSet.
  const now2 = memory.peek('deployments', 'default', 'web') as Deployment;
  await memory.update('deployments', {
    ...now2,
    spec: { ...now2.spec, template: deployment('web:1', 3).spec.template },
  });
  const third = await waitFor(() => rolledOut(memory, 'web:1', 3), { what: 'rolled back to web:1', timeoutMs: 15_000 });
  t.is(third.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
  t.is((memory.all('replicasets') as ReplicaSet[]).length, 2, 'the undo reused the first ReplicaSet');
});

test('a Job runs its pods to completion and reports Complete', async (t) => {
  const { memory, kubelet } = await cluster();
  kubelet.outcomes.set('pi-', 'Succeeded');
  await memory.create('jobs', {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default' },
    spec: {
      completions: 3,
      parallelism: 2,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'busybox' }] } },
    },
  });
  const job = await waitFor(
    () => {
      const j = memory.peek('jobs', 'default', 'pi') as Job | undefined;
      return j?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
    },
    { what: 'Job pi Complete', timeoutMs: 10_000 },
  );
  t.is(job.status?.succeeded, 3);
  t.truthy(job.status?.completionTime);
  t.is(
    (memory.all('pods') as Pod[]).filter((p) => p.metadata.name?.startsWith('pi-')).length,
    3,
    'no pod more than needed',
  );
});

test('an unplaceable pod shows the scheduler message while controllers keep working', async (t) => {
  const { memory } = await cluster();
  await memory.create('pods', {
    metadata: { name: 'huge', namespace: 'default' },
    spec: { containers: [{ name: 'a', image: 'x', resources: { requests: { cpu: '64' } } }] },
  });
  const message = await waitFor(
    () =>
      (memory.peek('pods', 'default', 'huge') as Pod).status?.conditions?.find((c) => c.type === 'PodScheduled')
        ?.message,
    {
      what: 'PodScheduled message on huge',
      timeoutMs: 5000,
    },
  );
  t.is(message, '0/2 nodes are available: 2 Insufficient cpu.');
});

test('a DaemonSet covers every node, and a node that joins later', async (t) => {
  const { memory } = await cluster();
  await memory.create('daemonsets', {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'agent' }] } },
    },
  });
  const placed = () =>
    (memory.all('pods') as Pod[])
      .filter((p) => p.metadata.labels?.app === 'agent' && p.status?.phase === 'Running')
      .map((p) => p.spec.nodeName)
      .sort();
  await waitFor(() => placed().join() === 'node-a,node-b', {
    what: 'daemon pods running on node-a and node-b',
    timeoutMs: 10_000,
  });
  await memory.create('nodes', node('node-c'));
  await waitFor(() => placed().join() === 'node-a,node-b,node-c', {
    what: 'a daemon pod on the new node-c',
    timeoutMs: 10_000,
  });
  const ds = memory.peek('daemonsets', 'default', 'agent') as {
    status?: { desiredNumberScheduled?: number; numberReady?: number };
  };
  await waitFor(() => (memory.peek('daemonsets', 'default', 'agent') as typeof ds).status?.numberReady === 3, {
    what: 'DaemonSet status numberReady 3',
    timeoutMs: 5000,
  });
  t.is((memory.peek('daemonsets', 'default', 'agent') as typeof ds).status?.desiredNumberScheduled, 3);
});

test('a StatefulSet comes up in ordinal order, each pod after the previous is ready', async (t) => {
  const { memory } = await cluster();
  const order: string[] = [];
  const seen = await memory.watch(
    'pods',
    '0',
    (event) => {
      const name = event.object.metadata.name ?? '';
      if (event.type === 'ADDED' && name.startsWith('db-')) {
        // Every earlier ordinal must already be Running and Ready when a pod is created.
        const earlier = (memory.all('pods') as Pod[]).filter(
          (p) => p.metadata.name!.startsWith('db-') && p.metadata.name! < name,
        );
        order.push(
          `${name}:${earlier.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))}`,
        );
      }
    },
    () => {},
  );
  await memory.create('statefulsets', {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default' },
    spec: {
      replicas: 3,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db' }] } },
    },
  });
  await waitFor(
    () =>
      (memory.peek('statefulsets', 'default', 'db') as { status?: { readyReplicas?: number } }).status
        ?.readyReplicas === 3,
    { what: 'StatefulSet db with 3 ready replicas', timeoutMs: 10_000 },
  );
  seen.stop();
  t.deepEqual(order, ['db-0:true', 'db-1:true', 'db-2:true']);
});

test('a CronJob fires when its minute comes, and its Job runs to completion', async (t) => {
  // The controllers' clock is moved by hand; node lifecycle stays out (no leases here).
  let time = Date.parse('2026-03-01T10:00:30Z');
  const clock = { now: () => time, after: systemClock.after };
  const memory = new MemoryCluster({ clock });
  for (const name of ['node-a', 'node-b']) await memory.create('nodes', node(name));
  const kubelet = await startFakeKubelet(memory);
  kubelet.outcomes.set('tick-', 'Succeeded');
  running.push(kubelet);
  running.push(
    await startControlLoops({
      client: memory,
      clock,
      controllers: defaultControllers().filter((c) => c.name !== 'nodelifecycle'),
    }),
  );
  await memory.create('cronjobs', {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'default' },
    spec: {
      schedule: '* * * * *',
      timeZone: 'UTC',
      jobTemplate: {
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
    },
  });
  const cronJob = () => memory.peek('cronjobs', 'default', 'tick') as CronJob;
  t.deepEqual(memory.all('jobs'), [], 'nothing before the first minute');
  time = Date.parse('2026-03-01T10:01:05Z');
  // Touch the CronJob so the controller looks again now instead of at its real-time requeue.
  await memory.update('cronjobs', { ...cronJob(), metadata: { ...cronJob().metadata, labels: { poke: '1' } } });
  const job = await waitFor(() => (memory.all('jobs') as Job[])[0], { what: 'a Job for 10:01', timeoutMs: 5000 });
  t.is(job.metadata.name, `tick-${Math.floor(Date.parse('2026-03-01T10:01:00Z') / 60_000)}`);
  await waitFor(
    () =>
      (memory.peek('jobs', 'default', job.metadata.name!) as Job).status?.conditions?.some(
        (c) => c.type === 'Complete',
      ),
    { what: 'the Job Complete', timeoutMs: 5000 },
  );
  const status = await waitFor(() => (cronJob().status?.lastSuccessfulTime ? cronJob().status : undefined), {
    what: 'lastSuccessfulTime on the CronJob',
    timeoutMs: 5000,
  });
  t.is(status?.lastScheduleTime, '2026-03-01T10:01:00Z');
});
