/**
 * The pod worker against REAL containerd in a test-bed node: a pod with an init container, a
 * native sidecar and a main container with readiness/liveness probes reaches Ready; a
 * crash-looping container's restarts follow the backoff; deletion stops the main container
 * before the sidecar (by their finishedAt); a new worker re-adopts running containers without
 * restarting any.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createBed, bedImages, type Bed, type BedNode } from '../../bed/index.ts';
import { waitFor } from '../../helpers/wait.ts';
import { CriClient } from '../../../cri/client.ts';
import { systemClock } from '../../../kube/clock.ts';
import { ImagePuller } from '../../../agent/pods/image-puller.ts';
import { PodWorker, type PodWorkerDeps } from '../../../agent/pods/pod-worker.ts';
import { noConfigLookup } from '../../../agent/pods/pod-executor.ts';
import { defaultClusterDNS, type NodePodSettings } from '../../../agent/pods/node-settings.ts';
import type { Container, Pod, PodStatus } from '../../../kube/corev1.ts';
import { bedNetwork } from '../bed-network.ts';

let bed: Bed;
let node: BedNode;
let cri: CriClient;
const workers: PodWorker[] = [];
const log = pino({ level: process.env.BOSUN_TEST_LOG ?? 'silent' });

test.before(async () => {
  bed = await createBed({ nodes: 1 });
  node = bed.nodes[0]!;
  cri = new CriClient(node.criEndpoint);
});

test.after.always(async () => {
  for (const worker of workers) worker.close();
  cri?.close();
  await bed?.destroy();
});

function settings(): NodePodSettings {
  return {
    nodeName: node.name,
    nodeIP: node.ip,
    podLogRoot: node.podLogDir,
    podsDir: join(node.stateDir, 'agent-pods'),
    clusterDNS: [defaultClusterDNS],
    clusterDomain: 'cluster.local',
    hostDns: { servers: [], searches: [], options: [] },
    cgroupRoot: undefined,
    cgroupDriver: 'cgroupfs',
    runtimeName: 'containerd',
    allocatable: { cpuMilli: 2000, memoryBytes: 2 * 2 ** 30 },
    hostPathAllowList: [],
  };
}

interface Tracked {
  worker: PodWorker;
  statuses: PodStatus[];
  terminated: boolean;
}

function startWorker(pod: Pod, overrides: Partial<PodWorkerDeps> = {}): Tracked {
  const tracked: Tracked = { worker: undefined as unknown as PodWorker, statuses: [], terminated: false };
  tracked.worker = new PodWorker(pod, {
    runtime: cri,
    settings: settings(),
    images: new ImagePuller(cri),
    network: bedNetwork(node),
    clock: systemClock,
    config: noConfigLookup,
    log,
    agentStartedAt: Date.now() - 3_600_000,
    resyncMs: 500,
    onStatus: (_pod, status) => tracked.statuses.push(status),
    onTerminated: () => {
      tracked.terminated = true;
    },
    ...overrides,
  });
  workers.push(tracked.worker);
  tracked.worker.start();
  return tracked;
}

let uidCounter = 0;
function makePod(name: string, spec: Pod['spec']): Pod {
  uidCounter += 1;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `${name}-${process.pid}-${uidCounter}` },
    spec,
  };
}

const box = (name: string, script: string, extra: Partial<Container> = {}): Container => ({
  name,
  image: bedImages.busybox,
  command: ['sh', '-c', script],
  ...extra,
});
// exits at once on SIGTERM (PID 1 ignores signals it has no handler for)
const idle = 'trap "exit 0" TERM; while true; do sleep 0.2; done';
const cond = (s: PodStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type)?.status;
const latest = (t: Tracked) => t.statuses.at(-1);

test.serial('real containerd: init container, native sidecar and probed main container reach Ready', async (t) => {
  const pod = makePod('full', {
    volumes: [{ name: 'work', emptyDir: {} }],
    initContainers: [
      box('setup', 'echo prepared > /work/done', { volumeMounts: [{ name: 'work', mountPath: '/work' }] }),
      box('proxy', `httpd -p 8080 -h /www; ${idle}`, {
        restartPolicy: 'Always',
        startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        readinessProbe: { httpGet: { port: 8080, path: '/index.html' }, periodSeconds: 2 },
      }),
    ],
    containers: [
      box('app', `cat /work/done; ${idle}`, {
        volumeMounts: [{ name: 'work', mountPath: '/work' }],
        readinessProbe: { exec: { command: ['test', '-f', '/work/done'] }, periodSeconds: 1 },
        livenessProbe: { exec: { command: ['true'] }, periodSeconds: 2 },
      }),
    ],
  });
  const started = performance.now();
  const tracked = startWorker(pod);
  const ready = await waitFor(() => (cond(latest(tracked), 'Ready') === 'True' ? latest(tracked) : undefined), {
    what: `pod ${pod.metadata.name} Ready (last status: ${JSON.stringify(latest(tracked)?.conditions)})`,
    timeoutMs: 60_000,
  });
  t.log(`Ready after ${Math.round(performance.now() - started)} ms`);
  t.is(ready.phase, 'Running');
  t.is(cond(ready, 'Initialized'), 'True');
  t.is(ready.initContainerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
  t.true(ready.initContainerStatuses?.[1]?.started, 'the sidecar started');
  t.true(ready.initContainerStatuses?.[1]?.ready, 'the sidecar is ready');
  t.regex(ready.podIP ?? '', /^10\.244\.1\.\d+$/);
  // the init container ran before the sidecar, and the sidecar before the main container
  const statuses = await Promise.all(
    (await cri.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': pod.metadata.uid! } })).map((c) =>
      cri.containerStatus(c.id),
    ),
  );
  const startedAt = (name: string) => statuses.find((s) => s.status?.metadata?.name === name)!.status!.startedAt;
  const finishedAt = (name: string) => statuses.find((s) => s.status?.metadata?.name === name)!.status!.finishedAt;
  t.true(finishedAt('setup') <= startedAt('proxy'), 'setup finished before the sidecar started');
  t.true(startedAt('proxy') < startedAt('app'), 'the sidecar started before the main container');
  const logFile = join(node.podLogDir, `default_full_${pod.metadata.uid}`, 'app', '0.log');
  t.regex(
    readFileSync(logFile, 'utf8'),
    /prepared/,
    'the main container read what the init container wrote, and its log is where the API expects it',
  );
});

test.serial(
  'real containerd: a crash-looping container restarts with growing delays and shows CrashLoopBackOff',
  async (t) => {
    const pod = makePod('crashy', { containers: [box('app', 'echo bye; exit 3')] });
    const tracked = startWorker(pod);
    const sawBackoff = { value: false };
    const status = await waitFor(
      () => {
        const s = latest(tracked);
        if (s?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff') sawBackoff.value = true;
        return (s?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? s : undefined;
      },
      { what: 'two restarts of the crashing container', timeoutMs: 60_000 },
    );
    t.true(sawBackoff.value, 'CrashLoopBackOff was shown while it waited');
    t.is(status.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 3);
    t.is(status.containerStatuses?.[0]?.lastState?.terminated?.reason, 'Error');
    const runs = (
      await Promise.all(
        (
          await cri.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': pod.metadata.uid! } })
        ).map((c) => cri.containerStatus(c.id)),
      )
    )
      .map((r) => r.status!)
      .sort((a, b) => a.metadata!.attempt - b.metadata!.attempt);
    t.is(runs.length, 2, 'only the newest two attempts are kept');
    const [previous, newest] = runs;
    const delayMs = (newest!.startedAt - previous!.finishedAt) / 1e6;
    t.log(
      `attempt ${newest!.metadata!.attempt} started ${Math.round(delayMs)} ms after attempt ${previous!.metadata!.attempt} exited`,
    );
    // the lower bound is the backoff itself: a busy machine only makes the restart later, never earlier
    t.true(delayMs >= 10_000, `the second restart waited the 10 s backoff (waited ${Math.round(delayMs)} ms)`);
    // how much later depends on the machine's load (logged above); only a wait far past the next
    // steps of the backoff (20 s, 40 s) fails, e.g. a backoff that jumped to its 5 min cap
    t.true(delayMs < 45_000, `and not a backoff gone far past its first steps (waited ${Math.round(delayMs)} ms)`);
    await tracked.worker.remove();
  },
);

test.serial('real containerd: deletion stops the main container before the sidecar, then the sandbox', async (t) => {
  const pod = makePod('stopper', {
    terminationGracePeriodSeconds: 10,
    initContainers: [box('proxy', idle, { restartPolicy: 'Always' }), box('logs', idle, { restartPolicy: 'Always' })],
    containers: [box('app', idle)],
  });
  const tracked = startWorker(pod);
  await waitFor(() => cond(latest(tracked), 'Ready') === 'True', {
    what: 'the pod Ready before deleting it',
    timeoutMs: 60_000,
  });
  const deletedAt = performance.now();
  tracked.worker.update({
    ...pod,
    metadata: { ...pod.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 10 },
  });
  await waitFor(() => tracked.terminated, { what: 'the deleted pod terminated', timeoutMs: 60_000 });
  t.log(`terminated ${Math.round(performance.now() - deletedAt)} ms after deletion`);
  const statuses = await Promise.all(
    (await cri.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': pod.metadata.uid! } })).map((c) =>
      cri.containerStatus(c.id),
    ),
  );
  const finished = (name: string) => statuses.find((s) => s.status?.metadata?.name === name)!.status!.finishedAt;
  t.true(finished('app') < finished('logs'), 'main before the last sidecar');
  t.true(finished('logs') < finished('proxy'), 'sidecars in reverse spec order');
  const sandboxes = await cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': pod.metadata.uid! } });
  t.deepEqual(
    sandboxes.map((s) => s.state),
    ['SANDBOX_NOTREADY'],
  );
  t.is(latest(tracked)?.phase, 'Succeeded', 'every container exited 0 on SIGTERM');
  const steps = tracked.statuses.map((s) => s.message ?? '').filter((m) => m.startsWith('terminating'));
  t.true(
    steps.some((m) => m.includes('stopping sidecar logs')),
    steps.join(' | '),
  );
  await tracked.worker.remove();
  t.deepEqual(await cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': pod.metadata.uid! } }), []);
});

test.serial('real containerd: a new worker re-adopts running containers and restarts nothing', async (t) => {
  const pod = makePod('adopted', {
    initContainers: [box('proxy', idle, { restartPolicy: 'Always' })],
    containers: [box('app', idle, { readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } })],
  });
  const first = startWorker(pod);
  await waitFor(() => cond(latest(first), 'Ready') === 'True', {
    what: 'the pod Ready under the first worker',
    timeoutMs: 60_000,
  });
  const selector = { labelSelector: { 'io.kubernetes.pod.uid': pod.metadata.uid! } };
  const before = (await cri.listContainers(selector)).map((c) => `${c.id}:${c.state}`).sort();
  const sandboxesBefore = (await cri.listPodSandbox(selector)).map((s) => s.id);
  first.worker.close();

  // the status the first worker reported last is what the API server hands the new agent
  const lastStatus = latest(first);
  const second = startWorker(lastStatus === undefined ? pod : { ...pod, status: lastStatus }, {
    agentStartedAt: Date.now(),
  });
  // several syncs of the new worker, and past its first readiness probe
  const until = Date.now() + 3_000;
  await waitFor(() => Date.now() >= until && second.statuses.length > 0, {
    what: 'three seconds of the second worker',
    timeoutMs: 10_000,
  });
  await second.worker.idle();
  const after = (await cri.listContainers(selector)).map((c) => `${c.id}:${c.state}`).sort();
  t.deepEqual(after, before, 'the same containers, still running');
  t.deepEqual(
    (await cri.listPodSandbox(selector)).map((s) => s.id),
    sandboxesBefore,
    'no second sandbox',
  );
  t.true(
    second.statuses.every((s) => cond(s, 'Ready') === 'True'),
    'Ready never flipped',
  );
  t.is(latest(second)?.containerStatuses?.[0]?.restartCount, 0);
  await second.worker.remove();
});
