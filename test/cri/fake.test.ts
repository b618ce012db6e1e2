import test from 'ava';
import { FakeRuntime, normalizeImageRef } from '../../cri/fake.ts';
import { CriUnavailableError, type CriError } from '../../cri/errors.ts';
import type { PodSandboxConfig, ContainerConfig } from '../../cri/types.ts';

const pause = 'localhost/bosun/pause:3.10';
const busybox = 'localhost/bosun/busybox:1.35';
const t0 = Date.UTC(2026, 0, 1);

function fake(options: ConstructorParameters<typeof FakeRuntime>[0] = {}) {
  let now = t0;
  const runtime = new FakeRuntime({ images: [pause, busybox], now: () => now, ...options });
  return { runtime, advance: (ms: number) => (now += ms) };
}

const sandboxConfig = (name = 'web', attempt = 0): PodSandboxConfig => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt },
  logDirectory: `/var/log/pods/default_${name}`,
  labels: { app: name },
});
const containerConfig = (name = 'main', attempt = 0): ContainerConfig => ({
  metadata: { name, attempt },
  image: { image: busybox },
  logPath: `${name}/${attempt}.log`,
  labels: { container: name },
});

const codeOf = async (promise: Promise<unknown>) =>
  (
    (await promise.then(
      () => undefined,
      (err: unknown) => err,
    )) as CriError | undefined
  )?.code;

test('IDs are 64 hex characters and the same for the same call sequence', async (t) => {
  const a = fake().runtime;
  const b = fake().runtime;
  const idA = await a.runPodSandbox(sandboxConfig());
  const idB = await b.runPodSandbox(sandboxConfig());
  t.regex(idA, /^[0-9a-f]{64}$/);
  t.is(idA, idB);
  t.not(await a.runPodSandbox(sandboxConfig('other')), idA);
});

test('a container goes created -> running -> exited -> removed, with times from the injected clock', async (t) => {
  const { runtime, advance } = fake();
  const pod = await runtime.runPodSandbox(sandboxConfig());
  const id = await runtime.createContainer(pod, containerConfig(), sandboxConfig());
  t.is((await runtime.containerStatus(id)).status?.state, 'CONTAINER_CREATED');
  advance(1000);
  await runtime.startContainer(id);
  const running = (await runtime.containerStatus(id)).status!;
  t.is(running.state, 'CONTAINER_RUNNING');
  t.is(running.startedAt, (t0 + 1000) * 1e6);
  t.is(running.logPath, '/var/log/pods/default_web/main/0.log');
  advance(500);
  runtime.exitContainer(id, 3);
  const exited = (await runtime.containerStatus(id)).status!;
  t.deepEqual(
    [exited.state, exited.exitCode, exited.reason, exited.finishedAt],
    ['CONTAINER_EXITED', 3, 'Error', (t0 + 1500) * 1e6],
  );
  await runtime.removeContainer(id);
  t.is(await codeOf(runtime.containerStatus(id)), 'BOSUN_CRI_NOT_FOUND');
});

test('state rules follow containerd: start twice, exec in a created container, create in a stopped sandbox', async (t) => {
  const { runtime } = fake();
  const pod = await runtime.runPodSandbox(sandboxConfig());
  const id = await runtime.createContainer(pod, containerConfig(), sandboxConfig());
  t.is(await codeOf(runtime.execSync(id, ['true'], 1)), 'BOSUN_CRI_RUNTIME');
  await runtime.startContainer(id);
  t.is(await codeOf(runtime.startContainer(id)), 'BOSUN_CRI_RUNTIME');
  await runtime.stopPodSandbox(pod);
  const status = (await runtime.containerStatus(id)).status!;
  t.deepEqual([status.state, status.exitCode], ['CONTAINER_EXITED', 137]);
  t.is((await runtime.podSandboxStatus(pod)).status?.state, 'SANDBOX_NOTREADY');
  t.is(await codeOf(runtime.createContainer(pod, containerConfig('late'), sandboxConfig())), 'BOSUN_CRI_NOT_FOUND');
});

test('names are reserved until removal, as containerd does', async (t) => {
  const { runtime } = fake();
  const pod = await runtime.runPodSandbox(sandboxConfig());
  t.is(await codeOf(runtime.runPodSandbox(sandboxConfig())), 'BOSUN_CRI_RUNTIME');
  const next = await runtime.runPodSandbox(sandboxConfig('web', 1));
  t.not(next, pod);
  await runtime.createContainer(pod, containerConfig(), sandboxConfig());
  t.is(await codeOf(runtime.createContainer(pod, containerConfig(), sandboxConfig())), 'BOSUN_CRI_RUNTIME');
  await runtime.removePodSandbox(pod);
  t.regex(await runtime.runPodSandbox(sandboxConfig()), /^[0-9a-f]{64}$/);
});

test('stop of an unknown ID is NotFound, remove of an unknown ID succeeds (containerd 1.6 behaviour)', async (t) => {
  const { runtime } = fake();
  t.is(await codeOf(runtime.stopPodSandbox('nope')), 'BOSUN_CRI_NOT_FOUND');
  t.is(await codeOf(runtime.stopContainer('nope', 0)), 'BOSUN_CRI_NOT_FOUND');
  t.is(await codeOf(runtime.removePodSandbox('nope')), undefined);
  t.is(await codeOf(runtime.removeContainer('nope')), undefined);
  t.is(await codeOf(runtime.removeImage('nope:1')), undefined);
  t.is(await codeOf(runtime.podSandboxStatus('nope')), 'BOSUN_CRI_NOT_FOUND');
});

test('removing a sandbox removes its containers', async (t) => {
  const { runtime } = fake();
  const pod = await runtime.runPodSandbox(sandboxConfig());
  const other = await runtime.runPodSandbox(sandboxConfig('db'));
  await runtime.createContainer(pod, containerConfig('a'), sandboxConfig());
  const kept = await runtime.createContainer(other, containerConfig('b'), sandboxConfig('db'));
  await runtime.removePodSandbox(pod);
  t.deepEqual(
    (await runtime.listContainers()).map((c) => c.id),
    [kept],
  );
});

test('list filters: state, sandbox, labels, ID prefix', async (t) => {
  const { runtime } = fake();
  const web = await runtime.runPodSandbox(sandboxConfig('web'));
  const db = await runtime.runPodSandbox(sandboxConfig('db'));
  const a = await runtime.createContainer(web, containerConfig('a'), sandboxConfig('web'));
  const b = await runtime.createContainer(db, containerConfig('b'), sandboxConfig('db'));
  await runtime.startContainer(b);
  const ids = async (filter: Parameters<FakeRuntime['listContainers']>[0]) =>
    (await runtime.listContainers(filter)).map((c) => c.id);
  t.deepEqual(await ids({ state: { state: 'CONTAINER_RUNNING' } }), [b]);
  t.deepEqual(await ids({ podSandboxId: web.slice(0, 8) }), [a]);
  t.deepEqual(await ids({ labelSelector: { container: 'b' } }), [b]);
  t.deepEqual(await ids({ id: a.slice(0, 10) }), [a]);
  t.deepEqual(await ids({ id: 'ffff' }), []);
  t.deepEqual(
    (await runtime.listPodSandbox({ labelSelector: { app: 'db' } })).map((p) => p.id),
    [db],
  );
  t.deepEqual(
    (await runtime.listPodSandbox({ state: { state: 'SANDBOX_NOTREADY' } })).map((p) => p.id),
    [],
  );
});

test('queued errors fail the next calls of that method in order, before any change', async (t) => {
  const { runtime } = fake();
  runtime.queueError('runPodSandbox', new CriUnavailableError('down'));
  runtime.queueError('runPodSandbox', new CriUnavailableError('still down'));
  await t.throwsAsync(runtime.runPodSandbox(sandboxConfig()), { message: 'down' });
  await t.throwsAsync(runtime.runPodSandbox(sandboxConfig()), { message: 'still down' });
  t.deepEqual(await runtime.listPodSandbox(), []);
  t.regex(await runtime.runPodSandbox(sandboxConfig()), /^[0-9a-f]{64}$/);
  t.is(runtime.callsOf('runPodSandbox').length, 3);
});

test('calls are recorded with copies of their arguments', async (t) => {
  const { runtime } = fake();
  const config = sandboxConfig();
  await runtime.runPodSandbox(config, 'runc');
  config.metadata.name = 'changed afterwards';
  t.deepEqual(runtime.calls, [{ method: 'runPodSandbox', args: [sandboxConfig(), 'runc'] }]);
});

test('returned objects are copies', async (t) => {
  const { runtime } = fake();
  const pod = await runtime.runPodSandbox(sandboxConfig());
  const [listed] = await runtime.listPodSandbox();
  listed!.labels.app = 'tampered';
  t.is((await runtime.podSandboxStatus(pod)).status?.labels.app, 'web');
});

test('images: pull, find by short name, ID and ID prefix, remove', async (t) => {
  const { runtime } = fake({ images: [] });
  const ref = await runtime.pullImage('busybox');
  t.regex(ref, /^sha256:[0-9a-f]{64}$/);
  t.deepEqual((await runtime.imageStatus('docker.io/library/busybox:latest')).image?.repoTags, [
    'docker.io/library/busybox:latest',
  ]);
  t.is((await runtime.imageStatus(ref)).image?.id, ref);
  t.is((await runtime.imageStatus(ref.slice(7, 19))).image?.id, ref);
  t.is((await runtime.imageStatus('alpine')).image, undefined);
  await runtime.removeImage('busybox');
  t.deepEqual(await runtime.listImages(), []);
});

test('creating a container from a missing image is NotFound', async (t) => {
  const { runtime } = fake({ images: [] });
  const pod = await runtime.runPodSandbox(sandboxConfig());
  t.is(await codeOf(runtime.createContainer(pod, containerConfig(), sandboxConfig())), 'BOSUN_CRI_NOT_FOUND');
});

test('execSync answers through onExecSync and needs a running container', async (t) => {
  const { runtime } = fake();
  const pod = await runtime.runPodSandbox(sandboxConfig());
  const id = await runtime.createContainer(pod, containerConfig(), sandboxConfig());
  await runtime.startContainer(id);
  runtime.onExecSync = (_id, cmd) => ({ stdout: Buffer.from(cmd.join(' ')), exitCode: 4 });
  const result = await runtime.execSync(id, ['echo', 'hi'], 5);
  t.deepEqual([result.stdout.toString(), result.stderr.length, result.exitCode], ['echo hi', 0, 4]);
});

test('events: Unimplemented by default; with events on, lifecycle changes arrive in order', async (t) => {
  const withoutEvents = fake().runtime.containerEvents();
  await t.throwsAsync(withoutEvents[Symbol.asyncIterator]().next(), { message: /GetContainerEvents/ });
  const { runtime } = fake({ events: true });
  const controller = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const event of runtime.containerEvents({ signal: controller.signal })) {
      seen.push(event.containerEventType);
      if (seen.length === 4) controller.abort();
    }
  })();
  const pod = await runtime.runPodSandbox(sandboxConfig());
  const id = await runtime.createContainer(pod, containerConfig(), sandboxConfig());
  await runtime.startContainer(id);
  await runtime.stopContainer(id, 0);
  await runtime.removeContainer(id);
  await done;
  t.deepEqual(seen, [
    'CONTAINER_CREATED_EVENT',
    'CONTAINER_STARTED_EVENT',
    'CONTAINER_STOPPED_EVENT',
    'CONTAINER_DELETED_EVENT',
  ]);
});

test('after close every call fails with BOSUN_CRI_CLOSED', async (t) => {
  const { runtime } = fake();
  runtime.close();
  runtime.close();
  t.is(await codeOf(runtime.version()), 'BOSUN_CRI_CLOSED');
});

test('stats cover running containers and ready sandboxes', async (t) => {
  const { runtime } = fake();
  const pod = await runtime.runPodSandbox(sandboxConfig());
  const id = await runtime.createContainer(pod, containerConfig(), sandboxConfig());
  t.deepEqual(await runtime.listContainerStats(), []);
  await runtime.startContainer(id);
  t.deepEqual(
    (await runtime.listContainerStats()).map((s) => s.attributes?.id),
    [id],
  );
  t.deepEqual(
    (await runtime.podSandboxStats(pod)).linux?.containers.map((s) => s.attributes?.id),
    [id],
  );
});

test('image references normalise like containerd stores them', (t) => {
  t.is(normalizeImageRef('busybox'), 'docker.io/library/busybox:latest');
  t.is(normalizeImageRef('library/busybox:1.35'), 'docker.io/library/busybox:1.35');
  t.is(normalizeImageRef('quay.io/x/y'), 'quay.io/x/y:latest');
  t.is(normalizeImageRef('localhost:5000/x:2'), 'localhost:5000/x:2');
  t.is(normalizeImageRef('localhost/bosun/pause:3.10'), 'localhost/bosun/pause:3.10');
  t.is(normalizeImageRef('x@sha256:abc'), 'docker.io/library/x@sha256:abc');
});

test('runtime config: the pod CIDR is kept; the cgroup driver is Unimplemented unless set', async (t) => {
  const { runtime } = fake();
  await runtime.updateRuntimeConfig('10.244.1.0/24');
  t.is(runtime.podCidr, '10.244.1.0/24');
  t.is(await codeOf(runtime.runtimeConfig()), 'BOSUN_CRI_UNIMPLEMENTED');
  runtime.cgroupDriver = 'SYSTEMD';
  t.deepEqual(await runtime.runtimeConfig(), { cgroupDriver: 'SYSTEMD' });
});
