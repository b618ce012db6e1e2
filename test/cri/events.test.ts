import test from 'ava';
import { diffContainers, watchContainerEvents, type EventSource } from '../../cri/events.ts';
import { FakeRuntime } from '../../cri/fake.ts';
import { CriUnavailableError } from '../../cri/errors.ts';
import type { Container, ContainerState, ContainerEvent } from '../../cri/types.ts';

const container = (id: string, state: ContainerState): Container => ({
  id,
  podSandboxId: 'p',
  imageRef: '',
  state,
  createdAt: 0,
  labels: {},
  annotations: {},
  imageId: '',
});
const kinds = (events: ContainerEvent[]) =>
  events.map((e) => `${e.containerId}:${e.containerEventType.replace(/^CONTAINER_|_EVENT$/g, '')}`);

test('diff: new, moved, skipped-over and vanished containers', (t) => {
  const before = [
    container('a', 'CONTAINER_CREATED'),
    container('b', 'CONTAINER_RUNNING'),
    container('gone', 'CONTAINER_EXITED'),
    container('killed', 'CONTAINER_RUNNING'),
    container('unstarted', 'CONTAINER_CREATED'),
  ];
  const after = [
    container('a', 'CONTAINER_RUNNING'),
    container('b', 'CONTAINER_RUNNING'),
    container('c', 'CONTAINER_EXITED'),
  ];
  t.deepEqual(kinds(diffContainers(before, after, 5)), [
    'a:STARTED',
    'c:CREATED',
    'c:STARTED',
    'c:STOPPED',
    'gone:DELETED',
    'killed:STOPPED',
    'killed:DELETED',
    'unstarted:DELETED',
  ]);
  t.deepEqual(diffContainers(after, after, 5), []);
});

const pod = { metadata: { name: 'p', namespace: 'default', uid: 'u' } };

test('relist fallback on a runtime without the event stream (like containerd 1.6)', async (t) => {
  const runtime = new FakeRuntime({ images: ['busybox'] });
  const controller = new AbortController();
  const sources: EventSource[] = [];
  let ticks = 0;
  const script = async () => {
    // Each relist tick performs one lifecycle step, so the events are known in advance.
    ticks += 1;
    if (ticks === 1) {
      const sandbox = await runtime.runPodSandbox(pod);
      const id = await runtime.createContainer(sandbox, { metadata: { name: 'c' }, image: { image: 'busybox' } }, pod);
      await runtime.startContainer(id);
    } else if (ticks === 2) {
      runtime.queueError('listContainers', new CriUnavailableError('restarting'));
    } else if (ticks === 3) {
      const [c] = await runtime.listContainers();
      await runtime.removeContainer(c!.id);
    } else {
      controller.abort();
    }
  };
  const seen: ContainerEvent[] = [];
  for await (const event of watchContainerEvents(runtime, {
    signal: controller.signal,
    sleep: script,
    onSource: (s) => sources.push(s),
  })) {
    seen.push(event);
  }
  t.deepEqual(sources, ['relist']);
  const id = seen[0]?.containerId ?? '';
  t.deepEqual(kinds(seen), [`${id}:CREATED`, `${id}:STARTED`, `${id}:STOPPED`, `${id}:DELETED`]);
});

test('the runtime event stream is used when offered', async (t) => {
  const runtime = new FakeRuntime({ images: ['busybox'], events: true });
  const controller = new AbortController();
  const sources: EventSource[] = [];
  const seen: ContainerEvent[] = [];
  const watching = (async () => {
    for await (const event of watchContainerEvents(runtime, {
      signal: controller.signal,
      onSource: (s) => sources.push(s),
    })) {
      seen.push(event);
      if (seen.length === 2) controller.abort();
    }
  })();
  await new Promise((resolve) => setImmediate(resolve));
  const sandbox = await runtime.runPodSandbox(pod);
  const id = await runtime.createContainer(sandbox, { metadata: { name: 'c' }, image: { image: 'busybox' } }, pod);
  await runtime.startContainer(id);
  await watching;
  t.deepEqual(sources, ['stream']);
  t.deepEqual(kinds(seen), [`${id}:CREATED`, `${id}:STARTED`]);
  t.is(runtime.callsOf('listContainers').length, 0);
});
