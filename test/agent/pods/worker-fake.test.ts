/**
 * The pod worker against the stateful fake CRI runtime, with a manual clock: start-up order,
 * readiness, restarts and their backoff, image pull failures, a failed RunPodSandbox, liveness,
 * termination order and re-adoption by a new worker.
 */
import test from 'ava';
import { CriRuntimeError, CriUnavailableError } from '../../../cri/errors.ts';
import type { Pod } from '../../../kube/corev1.ts';
import { GrpcStatus } from '../../../cri/errors.ts';
import { noConfigLookup, type ConfigLookup } from '../../../agent/pods/pod-executor.ts';
import { podEvents } from '../../../agent/events/pod-events.ts';
import { c, pod, sidecar } from '../fixtures.ts';
import { busybox, condition, Harness } from '../worker-harness.ts';

const harnesses: Harness[] = [];
function harness(images?: string[]): Harness {
  const h = new Harness(images);
  harnesses.push(h);
  return h;
}
test.after.always(() => {
  for (const h of harnesses) h.cleanup();
});

const fullPod = (): Pod =>
  pod({
    initContainers: [
      c('setup', { command: ['true'] }),
      sidecar('proxy', { readinessProbe: { exec: { command: ['ready'] } } }),
    ],
    containers: [
      c('app', { readinessProbe: { exec: { command: ['ready'] } }, livenessProbe: { exec: { command: ['alive'] } } }),
    ],
  });

test('worker (fake CRI): init container, then sidecar, then main container; the pod becomes Ready', async (t) => {
  const h = harness();
  const worker = h.worker(fullPod());
  await worker.idle();
  t.deepEqual(
    (await h.containers()).map((x) => `${x.name}:${x.state}`),
    ['setup:CONTAINER_RUNNING'],
  );
  t.is(h.last().phase, 'Pending');
  t.is(condition(h.last(), 'Initialized'), 'False');

  h.runtime.exitContainer(await h.running('setup'), 0);
  await h.advance(worker, 1_000);
  const names = (await h.containers()).map((x) => `${x.name}:${x.state}`);
  t.deepEqual(names, ['setup:CONTAINER_EXITED', 'proxy:CONTAINER_RUNNING', 'app:CONTAINER_RUNNING']);
  t.is(h.last().phase, 'Running');
  t.is(condition(h.last(), 'Ready'), 'False', 'not ready before the readiness probes ran');

  await h.advance(worker, 1_000);
  t.is(condition(h.last(), 'Ready'), 'True');
  t.is(condition(h.last(), 'ContainersReady'), 'True');
  const sandboxConfig = h.runtime.callsOf('runPodSandbox')[0]![0] as {
    dnsConfig: unknown;
    logDirectory: string;
    hostname: string;
  };
  t.deepEqual(sandboxConfig.dnsConfig, {
    servers: ['10.96.0.10'],
    searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'example.internal'],
    options: ['ndots:5'],
  });
  t.is(sandboxConfig.logDirectory, `${h.settings.podLogRoot}/default_web_uid-web`);
  t.is(sandboxConfig.hostname, 'web');
  worker.close();
});

test('worker (fake CRI): a failed RunPodSandbox is retried with the next attempt number', async (t) => {
  const h = harness();
  h.runtime.queueError('runPodSandbox', new CriRuntimeError('RunPodSandbox failed: CNI timed out'));
  const worker = h.worker(pod());
  await worker.idle();
  t.is((await h.runtime.listPodSandbox()).length, 0);
  await h.advance(worker, 1_000);
  const attempts = h.runtime
    .callsOf('runPodSandbox')
    .map((args) => (args[0] as { metadata: { attempt: number } }).metadata.attempt);
  t.deepEqual(attempts, [0, 1]);
  t.is((await h.containers())[0]?.state, 'CONTAINER_RUNNING');
  worker.close();
});

test('worker (fake CRI): a crash-looping container restarts after 0, 10, 20 and 40 s and shows CrashLoopBackOff', async (t) => {
  const h = harness();
  const worker = h.worker(pod());
  await worker.idle();
  const restartsAt: number[] = [];
  const start = h.clock.now();
  for (let crash = 0; crash < 4; crash++) {
    const id = await h.running('app');
    h.runtime.exitContainer(id, 1);
    let waitedForBackoff = false;
    for (let step = 0; step < 100; step++) {
      await h.advance(worker, 1_000);
      const running = (await h.containers()).find((x) => x.state === 'CONTAINER_RUNNING');
      if (running !== undefined) {
        restartsAt.push(Math.round((h.clock.now() - start) / 1000));
        break;
      }
      if (h.last().containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff') waitedForBackoff = true;
    }
    t.is(waitedForBackoff, crash > 0, `crash ${crash}: CrashLoopBackOff shown while waiting`);
  }
  const gaps = restartsAt.map((at, i) => at - (i === 0 ? 0 : restartsAt[i - 1]!));
  // the first restart comes with the sync tick that notices the exit; each later one exactly its
  // backoff after the exit (which the test causes right after the previous restart)
  t.deepEqual(gaps, [1, 10, 20, 40]);
  t.is(h.last().containerStatuses?.[0]?.restartCount, 4);
  t.is(h.last().containerStatuses?.[0]?.lastState?.terminated?.reason, 'Error');
  worker.close();
});

test('worker (fake CRI): an image that cannot be pulled shows ErrImagePull, then ImagePullBackOff, and is retried', async (t) => {
  const h = harness([]);
  h.runtime.addImage('localhost/bosun/pause:3.10');
  h.runtime.queueError('pullImage', new CriRuntimeError('pull failed: not found'));
  const worker = h.worker(pod());
  await worker.idle();
  t.is(h.last().containerStatuses?.[0]?.state?.waiting?.reason, 'ErrImagePull');
  await h.advance(worker, 1_000);
  t.is(h.last().containerStatuses?.[0]?.state?.waiting?.reason, 'ImagePullBackOff');
  t.is(h.runtime.callsOf('pullImage').length, 1, 'no pull during the backoff');
  for (let i = 0; i < 10; i++) await h.advance(worker, 1_000);
  t.is(h.runtime.callsOf('pullImage').length, 2);
  t.truthy(h.last().containerStatuses?.[0]?.state?.running, 'the second pull worked and the container runs');
  worker.close();
});

const privateImage = 'registry.example.com:5000/team/app:1';
const password = 'pa55-never-shown';
/** Two dockerconfigjson secrets for the image's registry (a stale one first), one unrelated. */
const registryLookup: ConfigLookup = {
  ...noConfigLookup,
  typedSecret: async (_namespace, name) => {
    const auths: Record<string, Record<string, unknown>> = {
      stale: { 'registry.example.com:5000': { username: 'old', password: 'expired' } },
      current: {
        'https://registry.example.com:5000/v2/': { auth: Buffer.from(`puller:${password}`).toString('base64') },
      },
      other: { 'other.example.com': { username: 'x', password: 'y' } },
    };
    if (auths[name] === undefined) return undefined;
    return {
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: auths[name] })) },
    };
  },
};
const unauthorized = () =>
  new CriRuntimeError('PullImage failed', {
    grpcCode: GrpcStatus.UNKNOWN,
    detail: `failed to pull and unpack image "${privateImage}": 401 Unauthorized`,
  });

test('worker (fake CRI): image pull secrets are passed to the runtime, each matching credential in turn until one pulls', async (t) => {
  const h = harness([]);
  h.runtime.addImage('localhost/bosun/pause:3.10');
  h.runtime.queueError('pullImage', unauthorized());
  const events: string[] = [];
  const p = pod({
    containers: [c('app', { image: privateImage })],
    imagePullSecrets: [{ name: 'other' }, { name: 'gone' }, { name: '' }, { name: 'stale' }, { name: 'current' }],
  });
  const worker = h.worker(p, {
    config: registryLookup,
    events: podEvents({ event: (_ref, type, reason, message) => events.push(`${type} ${reason} ${message}`) }),
  });
  await worker.idle();
  const auths = h.runtime.callsOf('pullImage').map((call) => call[1]);
  t.deepEqual(auths, [
    { username: 'old', password: 'expired' },
    { username: 'puller', password },
  ]);
  t.truthy(h.last().containerStatuses?.[0]?.state?.running);
  t.true(
    events.includes(
      'Warning FailedToRetrieveImagePullSecret Unable to retrieve some image pull secrets (gone); attempting to pull the image may not succeed.',
    ),
    events.join('\n'),
  );
  t.false(events.some((e) => e.includes(password)));
  worker.close();
});

test('worker (fake CRI): a refused private pull shows the runtime error, then backs off naming it, with no secret in either', async (t) => {
  const h = harness([]);
  h.runtime.addImage('localhost/bosun/pause:3.10');
  h.runtime.queueError('pullImage', unauthorized());
  const events: string[] = [];
  const p = pod({ containers: [c('app', { image: privateImage })], imagePullSecrets: [{ name: 'current' }] });
  const worker = h.worker(p, {
    config: registryLookup,
    events: podEvents({ event: (_ref, type, reason, message) => events.push(`${type} ${reason} ${message}`) }),
  });
  await worker.idle();
  const denied = `rpc error: code = Unknown desc = failed to pull and unpack image "${privateImage}": 401 Unauthorized`;
  t.deepEqual(h.last().containerStatuses?.[0]?.state?.waiting, { reason: 'ErrImagePull', message: denied });
  t.true(events.includes(`Warning Failed Failed to pull image "${privateImage}": ${denied}`), events.join('\n'));
  t.true(events.includes('Warning Failed Error: ErrImagePull'));
  await h.advance(worker, 1_000);
  t.deepEqual(h.last().containerStatuses?.[0]?.state?.waiting, {
    reason: 'ImagePullBackOff',
    message: `Back-off pulling image "${privateImage}": ErrImagePull: ${denied}`,
  });
  t.true(events.includes(`Normal BackOff Back-off pulling image "${privateImage}"`), events.join('\n'));
  t.is(h.runtime.callsOf('pullImage').length, 1, 'no anonymous pull after the credential failed');
  t.false(JSON.stringify([h.statuses, events]).includes(password));
  worker.close();
});

test('worker (fake CRI): a failing liveness probe restarts the container; readiness failing only unreadies it', async (t) => {
  const h = harness();
  let alive = true;
  let ready = true;
  h.runtime.onExecSync = (_id, cmd) => ({ exitCode: (cmd[0] === 'alive' ? alive : ready) ? 0 : 1 });
  const p = pod({
    containers: [
      c('app', {
        readinessProbe: { exec: { command: ['ready'] }, periodSeconds: 1, failureThreshold: 1 },
        livenessProbe: { exec: { command: ['alive'] }, periodSeconds: 1 },
      }),
    ],
  });
  const worker = h.worker(p);
  await worker.idle();
  await h.advance(worker, 1_000);
  t.is(condition(h.last(), 'Ready'), 'True');
  ready = false;
  await h.advance(worker, 1_000);
  t.is(condition(h.last(), 'Ready'), 'False');
  t.is((await h.containers()).length, 1, 'readiness does not restart');
  ready = true;
  alive = false;
  for (let i = 0; i < 4; i++) await h.advance(worker, 1_000);
  const all = await h.containers();
  t.deepEqual(
    all.map((x) => `${x.attempt}:${x.state}`),
    ['0:CONTAINER_EXITED', '1:CONTAINER_RUNNING'],
    'killed after three failures and started again',
  );
  worker.close();
});

test('worker (fake CRI): deletion stops the main container, then the sidecar, then the sandbox', async (t) => {
  const h = harness();
  const p = pod({
    terminationGracePeriodSeconds: 5,
    initContainers: [sidecar('proxy'), sidecar('logs')],
    containers: [c('app')],
  });
  const worker = h.worker(p);
  await worker.idle();
  await h.advance(worker, 1_000);
  t.is((await h.containers()).filter((x) => x.state === 'CONTAINER_RUNNING').length, 3);
  const ids = new Map((await h.containers()).map((x) => [x.id, x.name]));
  worker.update({ ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T12:00:02Z' } });
  for (let i = 0; i < 5 && worker.phase !== 'terminated'; i++) await h.advance(worker, 100);
  const stops = h.runtime.callsOf('stopContainer').map((args) => `${ids.get(args[0] as string)}:${args[1]}`);
  t.deepEqual(stops, ['app:5', 'logs:5', 'proxy:5']);
  t.is(h.runtime.callsOf('stopPodSandbox').length, 1);
  t.is(worker.phase, 'terminated');
  t.is(h.last().phase, 'Failed', 'killed containers make a deleted pod Failed');
  t.is(h.terminated.length, 1, 'the pod may leave the API');
  await worker.remove();
  t.is((await h.runtime.listPodSandbox()).length, 0);
});

test('worker (fake CRI): a stop the runtime refuses while terminating is tried again at the next tick, not at once', async (t) => {
  const h = harness();
  const p = pod({ terminationGracePeriodSeconds: 5 });
  const worker = h.worker(p);
  await worker.idle();
  h.runtime.queueError('stopContainer', new CriUnavailableError('containerd is not reachable'));
  worker.update({ ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T12:00:00Z' } });
  await worker.idle();
  t.is(h.runtime.callsOf('stopContainer').length, 1, 'one refused stop, then the worker waits for its tick');
  t.is(worker.phase, 'terminating');
  t.regex(h.last().message ?? '', /^terminating: stopping main containers/);
  await h.advance(worker, 1_000);
  t.is(h.runtime.callsOf('stopContainer').length, 2);
  t.is(worker.phase, 'terminated');
  worker.close();
});

test("worker (fake CRI): remove() waits on the worker's own syncs and its resync tick, with no timer of its own", async (t) => {
  const h = harness();
  const worker = h.worker(pod());
  await worker.idle();
  h.runtime.queueError('listPodSandbox', new CriUnavailableError('containerd is not reachable'));
  let removed = false;
  const removing = worker.remove().then(() => {
    removed = true;
  });
  await worker.idle();
  t.false(removed, 'the sync it asked for failed: the pod still runs');
  t.is(h.clock.pending, 1, "only the worker's resync tick waits on the clock");
  await h.advance(worker, 1_000);
  await removing;
  t.is(worker.phase, 'removed');
  t.deepEqual(await h.runtime.listPodSandbox(), []);
});

test('worker (fake CRI): the pod shows the termination step it waits on', async (t) => {
  const h = harness();
  const p = pod({ containers: [c('app')] });
  const worker = h.worker(p);
  await worker.idle();
  const messages: string[] = [];
  const deleted = { ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T12:00:00Z' } };
  worker.update(deleted);
  await worker.idle();
  for (const s of h.statuses) if (s.message) messages.push(s.message);
  t.true(
    messages.some((m) => m.startsWith('terminating: stopping main containers (deadline ')),
    messages.join(' | '),
  );
  worker.close();
});

test('worker (fake CRI): a completed Job-style pod stops its sidecar and ends Succeeded', async (t) => {
  const h = harness();
  const p = {
    ...pod({ initContainers: [sidecar('proxy')], containers: [c('job')] }),
    spec: { restartPolicy: 'Never' as const, initContainers: [sidecar('proxy')], containers: [c('job')] },
  };
  const worker = h.worker(p);
  await worker.idle();
  h.runtime.exitContainer(await h.running('job'), 0);
  await h.advance(worker, 1_000);
  t.is(worker.phase, 'terminated');
  t.is(h.last().phase, 'Succeeded');
  t.is((await h.containers()).find((x) => x.name === 'proxy')?.state, 'CONTAINER_EXITED');
  t.is(h.terminated.length, 0, 'not deleted: the object stays');
  worker.close();
});

test('worker (fake CRI): a new worker re-adopts running containers without restarting any, and keeps readiness', async (t) => {
  const h = harness();
  h.runtime.onExecSync = () => ({ exitCode: 0 });
  const first = h.worker(fullPod());
  await first.idle();
  h.runtime.exitContainer(await h.running('setup'), 0);
  await h.advance(first, 1_000);
  await h.advance(first, 1_000);
  t.is(condition(h.last(), 'Ready'), 'True');
  first.close();

  const callsBefore = h.runtime.calls.length;
  const adopted: Pod = { ...fullPod(), status: h.last() };
  const seen: string[] = [];
  const second = h.worker(adopted, {
    agentStartedAt: h.clock.now(),
    random: () => 0.99,
    onStatus: (_p, status) => seen.push(`${condition(status, 'Ready')}`),
  });
  await second.idle();
  await h.advance(second, 500);
  const changes = h.runtime.calls
    .slice(callsBefore)
    .map((call) => call.method)
    .filter((m) => !/^(list|containerStatus|podSandboxStatus|execSync|imageStatus)/.test(m));
  t.deepEqual(changes, [], 'nothing created, started or stopped');
  t.deepEqual(seen, ['True'], 'Ready stays True before the first probe of the new worker');
  second.close();
});

test('worker (fake CRI): an unreachable runtime is never taken for dead containers', async (t) => {
  const h = harness();
  const worker = h.worker(pod());
  await worker.idle();
  const before = h.statuses.length;
  h.runtime.queueError('listPodSandbox', new CriUnavailableError('containerd is not reachable'));
  h.runtime.queueError('listPodSandbox', new CriUnavailableError('containerd is not reachable'));
  await h.advance(worker, 1_000);
  await h.advance(worker, 1_000);
  t.is(h.statuses.length, before, 'no new status while the runtime is away');
  await h.advance(worker, 1_000);
  t.is((await h.containers()).length, 1, 'no restart afterwards');
  t.is(h.runtime.callsOf('stopContainer').length, 0);
  worker.close();
});

test('worker (fake CRI): updates coalesce, the latest desired state wins', async (t) => {
  const h = harness();
  h.runtime.addImage('localhost/bosun/busybox:2');
  const p = pod();
  const worker = h.worker(p);
  for (let i = 0; i < 10; i++)
    worker.update({
      ...p,
      spec: { containers: [c('app', { image: i === 9 ? 'localhost/bosun/busybox:2' : busybox })] },
    });
  await worker.idle();
  const syncs = h.runtime.callsOf('listPodSandbox').length;
  t.true(syncs <= 6, `${syncs} syncs for 10 updates`);
  const created = h.runtime
    .callsOf('createContainer')
    .map((args) => (args[1] as { image: { userSpecifiedImage: string } }).image.userSpecifiedImage);
  t.is(created.at(-1), 'localhost/bosun/busybox:2');
  worker.close();
});

test("worker (fake CRI): an ephemeral container starts in the target's PID namespace, is reported, stays Terminated, and a new worker leaves it be", async (t) => {
  const h = harness();
  const p = pod();
  const worker = h.worker(p);
  await worker.idle();
  const app = await h.running('app');
  const debugged: Pod = {
    ...p,
    spec: {
      ...p.spec,
      ephemeralContainers: [
        { ...c('debugger', { command: ['sh'], stdin: true, tty: true }), targetContainerName: 'app' },
      ],
    },
  };
  worker.update(debugged);
  await worker.idle();
  const created = h.runtime.callsOf('createContainer').map(
    (args) =>
      args[1] as {
        metadata: { name: string };
        stdin: boolean;
        tty: boolean;
        linux: { securityContext: { namespaceOptions: unknown } };
      },
  );
  const config = created.find((x) => x.metadata.name === 'debugger');
  t.like(config, { stdin: true, tty: true });
  t.deepEqual(config?.linux.securityContext.namespaceOptions, {
    network: 'POD',
    pid: 'TARGET',
    ipc: 'POD',
    targetId: app,
  });
  const debuggerId = await h.running('debugger');
  t.truthy(h.last().ephemeralContainerStatuses?.[0]?.state?.running);
  t.is(h.last().ephemeralContainerStatuses?.[0]?.containerID, `containerd://${debuggerId}`);

  h.runtime.exitContainer(debuggerId, 0);
  await h.advance(worker, 1_000);
  await h.advance(worker, 20_000);
  t.is(h.runtime.callsOf('createContainer').length, created.length, 'not started again');
  t.like(h.last().ephemeralContainerStatuses?.[0]?.state?.terminated, { exitCode: 0, reason: 'Completed' });
  t.is(h.last().phase, 'Running');
  worker.close();

  const callsBefore = h.runtime.calls.length;
  const second = h.worker({ ...debugged, status: h.last() }, { agentStartedAt: h.clock.now() });
  await second.idle();
  await h.advance(second, 1_000);
  const changes = h.runtime.calls
    .slice(callsBefore)
    .map((call) => call.method)
    .filter((m) => !/^(list|containerStatus|podSandboxStatus|execSync|imageStatus)/.test(m));
  t.deepEqual(changes, [], 'nothing created, started or stopped after the agent restarts');
  t.like(h.last().ephemeralContainerStatuses?.[0]?.state?.terminated, { exitCode: 0 });
  second.close();
});
