/**
 * A pod's volumes are set up while the runtime makes its sandbox, not after it: the API lookups
 * and file writes of a start overlap RunPodSandbox, the container still starts only once they are
 * done, two set-ups of one pod at once never mount the memory tmpfs twice, and the start after the early
 * set-up does it again only for a volume that shows the pod its address.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { FakeRuntime } from '../../../cri/fake.ts';
import type { PodSandboxConfig } from '../../../cri/types.ts';
import { ImagePuller } from '../../../agent/pods/image-puller.ts';
import { noConfigLookup, type ConfigLookup } from '../../../agent/pods/pod-executor.ts';
import { PodVolumes } from '../../../agent/pods/volume-manager.ts';
import { memoryPodsDir, volumeDir } from '../../../agent/pods/volumes.ts';
import { c, pod } from '../fixtures.ts';
import { fakeMounts } from './fake-mounts.ts';
import { busybox, Harness } from '../worker-harness.ts';

/** A runtime whose RunPodSandbox answers only once the test lets it. */
class SlowSandboxRuntime extends FakeRuntime {
  #release: () => void = () => undefined;
  readonly released = new Promise<void>((resolve) => {
    this.#release = resolve;
  });
  /** RunPodSandbox was called. */
  sandboxAsked = false;
  /** RunPodSandbox has answered. */
  sandboxMade = false;

  release(): void {
    this.#release();
  }

  override async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    this.sandboxAsked = true;
    await this.released;
    const id = await super.runPodSandbox(config, runtimeHandler);
    this.sandboxMade = true;
    return id;
  }
}

const harnesses: Harness[] = [];
test.after.always(() => {
  for (const h of harnesses) h.cleanup();
});

test('worker (fake CRI): the ConfigMap of a volume is read once RunPodSandbox is asked for, before it answers; the container starts once its file is written', async (t) => {
  const h = new Harness();
  harnesses.push(h);
  const runtime = new SlowSandboxRuntime({ now: () => h.clock.now(), images: [busybox] });
  let readBeforeSandbox: boolean | undefined;
  let askedBeforeRead: boolean | undefined;
  const config: ConfigLookup = {
    ...noConfigLookup,
    configMap: async () => {
      readBeforeSandbox ??= !runtime.sandboxMade;
      askedBeforeRead ??= runtime.sandboxAsked;
      runtime.release();
      return { 'app.conf': Buffer.from('mode=fast\n') };
    },
  };
  // without the overlap nothing reads the ConfigMap before the sandbox exists: let it go after a while
  const fallback = setTimeout(() => runtime.release(), 1_000);
  const spec = pod({
    volumes: [{ name: 'settings', configMap: { name: 'app-settings' } }],
    containers: [c('app', { volumeMounts: [{ name: 'settings', mountPath: '/etc/app' }] })],
  });
  const worker = h.worker(spec, { runtime, images: new ImagePuller(runtime), config });
  await worker.idle();
  clearTimeout(fallback);

  t.true(readBeforeSandbox, 'the ConfigMap was read before RunPodSandbox answered');
  t.true(askedBeforeRead, 'but after the sandbox was asked for: the set-up does not hold it up');
  const dir = volumeDir(h.settings, spec.metadata.uid!, 'configMap', 'settings');
  t.is(readFileSync(join(dir, 'app.conf'), 'utf8'), 'mode=fast\n');
  const containers = await runtime.listContainers();
  t.deepEqual(
    containers.map((x) => `${x.metadata?.name}:${x.state}`),
    ['app:CONTAINER_RUNNING'],
  );
  t.true(h.last().containerStatuses?.[0]?.state?.running !== undefined);
  worker.close();
});

test('volumes: two set-ups of one pod at once mount the memory tmpfs once, and both see the files written', async (t) => {
  const h = new Harness();
  harnesses.push(h);
  const { mounts, mountCalls } = fakeMounts(20);
  const volumes = new PodVolumes({
    settings: h.settings,
    config: { ...noConfigLookup, secret: async () => ({ password: Buffer.from('s3cret') }) },
    log: pino({ level: 'silent' }),
    mounts,
  });
  const spec = pod({ volumes: [{ name: 'creds', secret: { secretName: 'db' } }] });
  const fields = {
    podIP: '',
    podIPs: [],
    hostIP: h.settings.nodeIP,
    nodeName: 'node-1',
    allocatable: h.settings.allocatable,
  };
  await Promise.all([
    volumes.setUp(spec, fields),
    volumes.setUp(spec, { ...fields, podIP: '10.244.1.5', podIPs: ['10.244.1.5'] }),
  ]);
  const dir = volumeDir(h.settings, spec.metadata.uid!, 'secret', 'creds');
  t.deepEqual(
    mountCalls.map((m) => m.dir),
    [memoryPodsDir(h.settings)],
    'one tmpfs',
  );
  t.is(readFileSync(join(dir, 'password'), 'utf8'), 's3cret');
});

test('volumes: the start after an early set-up reads and writes nothing again, unless a volume shows the pod its address', async (t) => {
  const h = new Harness();
  harnesses.push(h);
  let reads = 0;
  const volumes = new PodVolumes({
    settings: h.settings,
    config: {
      ...noConfigLookup,
      configMap: async () => {
        reads += 1;
        return { 'app.conf': Buffer.from('mode=fast\n') };
      },
    },
    log: pino({ level: 'silent' }),
    mounts: fakeMounts().mounts,
  });
  const before = {
    podIP: '',
    podIPs: [],
    hostIP: h.settings.nodeIP,
    nodeName: 'node-1',
    allocatable: h.settings.allocatable,
  };
  const after = { ...before, podIP: '10.244.1.5', podIPs: ['10.244.1.5'] };
  const plain = pod({ volumes: [{ name: 'settings', configMap: { name: 'app-settings' } }] }, 'plain');
  await volumes.setUp(plain, before);
  await volumes.setUp(plain, after);
  t.is(reads, 1, 'the ConfigMap was read once');

  const addressed = pod(
    { volumes: [{ name: 'info', downwardAPI: { items: [{ path: 'ip', fieldRef: { fieldPath: 'status.podIP' } }] } }] },
    'addressed',
  );
  await volumes.setUp(addressed, before);
  await volumes.setUp(addressed, after);
  const dir = volumeDir(h.settings, addressed.metadata.uid!, 'downwardAPI', 'info');
  t.is(readFileSync(join(dir, 'ip'), 'utf8'), '10.244.1.5');
});
