/** The pod manager and status writer: workers per pod, status writes, letting deleted pods go, garbage collection. */
import test from 'ava';
import type { CriRuntime } from '../../../cri/runtime.ts';
import type { Pod, PodStatus } from '../../../kube/corev1.ts';
import { PodManager } from '../../../agent/pods/pod-manager.ts';
import type { PodApi } from '../../../agent/pods/status-writer.ts';
import { c, pod } from '../fixtures.ts';
import { Harness, runtimeWith } from '../worker-harness.ts';

class FakePodApi implements PodApi {
  readonly written: { uid: string; status: PodStatus }[] = [];
  readonly deleted: string[] = [];
  failNext = 0;
  tries = 0;
  async writeStatus(p: Pod, status: PodStatus): Promise<void> {
    this.tries += 1;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('503 from the API');
    }
    this.written.push({ uid: p.metadata.uid!, status });
  }
  async deletePod(p: Pod): Promise<void> {
    this.deleted.push(p.metadata.uid!);
  }
}

const harnesses: Harness[] = [];
test.after.always(() => {
  for (const h of harnesses) h.cleanup();
});

function setup(runtime = (h: Harness): CriRuntime => h.runtime) {
  const h = new Harness();
  harnesses.push(h);
  const api = new FakePodApi();
  const { onStatus: _s, onTerminated: _t, ...deps } = h.deps();
  const manager = new PodManager({ ...deps, runtime: runtime(h), api });
  return { h, api, manager };
}

async function settle(h: Harness, manager: PodManager, ms = 0): Promise<void> {
  for (const worker of manager.workers.values()) await h.advance(worker, ms);
  await manager.statuses.flushed();
}

/** A pod whose first `failures` status writes fail, with its worker idle and the first write tried. */
async function withFailingWrites(failures: number) {
  const started = setup();
  started.api.failNext = failures;
  started.manager.upsert(pod());
  for (const worker of started.manager.workers.values()) await worker.idle();
  await new Promise((resolve) => setImmediate(resolve));
  return started;
}

test('pod manager: a pod gets a worker and its status is written; a failed write is retried', async (t) => {
  const { h, api, manager } = await withFailingWrites(1);
  t.is(api.written.length, 0, 'the first write failed');
  h.clock.advance(200);
  await manager.statuses.flushed();
  t.is(manager.workers.size, 1);
  t.true(api.written.length >= 1);
  t.is(api.written.at(-1)?.status.phase, 'Running');
  manager.close();
});

test('pod manager: once closed, a status write that keeps failing is not retried (nothing keeps the process alive)', async (t) => {
  const { h, api, manager } = await withFailingWrites(1_000);
  h.clock.advance(200);
  await new Promise((resolve) => setImmediate(resolve));
  t.true(api.tries >= 2, 'retried while open');
  manager.close();
  await new Promise((resolve) => setImmediate(resolve));
  const tries = api.tries;
  t.is(h.clock.pending, 0, 'no retry (nor anything else) waits on the clock');
  h.clock.advance(60_000);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(api.tries, tries);
});

test('pod manager: a deleted pod is stopped, then the API object is let go', async (t) => {
  const { h, api, manager } = setup();
  const p = pod({ terminationGracePeriodSeconds: 1 });
  manager.upsert(p);
  await settle(h, manager);
  manager.upsert({ ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T12:00:00Z' } });
  await settle(h, manager, 100);
  await settle(h, manager, 100);
  t.deepEqual(api.deleted, ['uid-web']);
  t.is(api.written.at(-1)?.status.phase, 'Failed', 'the final status is written before the delete');
  await manager.remove(p);
  t.is(manager.workers.size, 0);
  t.deepEqual(await h.runtime.listPodSandbox(), []);
});

/** Immediates and real timers alive in this process (the manual clock's timers are not real ones). */
const loopWork = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate' || r === 'Timeout');

/** Whether `promise` settles within `ms` of real time; leaves no timer behind either way. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

// serial: it counts the process's own timers and immediates, which concurrent tests would add to
test.serial(
  'pod manager: closed with a final status unwritten, flushed() settles and nothing is left running or waiting',
  async (t) => {
    const { h, api, manager } = setup();
    api.failNext = Number.MAX_SAFE_INTEGER; // the API is unreachable from the start
    const p = pod({ terminationGracePeriodSeconds: 1 });
    manager.upsert(p);
    for (const worker of manager.workers.values()) await worker.idle();
    manager.upsert({ ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T12:00:00Z' } });
    for (const worker of manager.workers.values()) await h.advance(worker, 100);
    t.is(manager.workers.get('uid-web')?.phase, 'terminated', 'stopped; its final status waits to be written');
    const flushed = manager.statuses.flushed();
    manager.close();
    t.true(await settlesWithin(flushed, 1_000), 'flushed() settles once the manager is closed');
    await new Promise((resolve) => setImmediate(resolve));
    t.deepEqual(loopWork(), [], 'no immediate and no timer is left in the process');
    t.is(h.clock.pending, 0, 'nothing waits on the clock');
    t.deepEqual(api.deleted, [], 'the pod object stays: its final status was never written');
  },
);

test('pod manager: an eviction resolves the moment the pod stopped, with no time passing', async (t) => {
  const { h, api, manager } = setup();
  manager.upsert(pod());
  await settle(h, manager);
  const evicted = manager.evict('uid-web', 'The node was low on resource: memory.');
  t.true(await settlesWithin(evicted, 1_000), 'resolved by the stop itself, not by a timer');
  t.true(await evicted);
  t.is(manager.workers.get('uid-web')?.phase, 'terminated');
  t.deepEqual(manager.evictionCandidates(), []);
  await manager.statuses.flushed();
  t.like(api.written.at(-1)?.status, { phase: 'Failed', reason: 'Evicted' });
  manager.close();
});

test('pod manager: close() ends the waits on stops in progress (an eviction, a removal) and leaves no timer', async (t) => {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  // every StopContainer hangs until the test lets it go
  const { h, manager } = setup((h) =>
    runtimeWith(h.runtime, {
      stopContainer: async (...args) => {
        await held;
        return h.runtime.stopContainer(...args);
      },
    }),
  );
  manager.upsert(pod({}, 'a'));
  manager.upsert(pod({}, 'b'));
  await settle(h, manager);
  const evicting = manager.evict('uid-a', 'The node was low on resource: memory.');
  const removing = manager.remove(pod({}, 'b'));
  await new Promise((resolve) => setImmediate(resolve));
  t.is(h.runtime.callsOf('stopContainer').length, 0, 'both stops are held');
  manager.close();
  t.true(await settlesWithin(Promise.all([evicting, removing]), 1_000), 'both waits end at close()');
  t.is(h.clock.pending, 0, 'nothing waits on the clock');
  release();
});

test('pod manager: a pod the API shows finished is not started again', async (t) => {
  const { h, manager } = setup();
  manager.upsert({ ...pod(), status: { phase: 'Succeeded' } });
  await settle(h, manager);
  t.is(manager.workers.size, 0);
  t.deepEqual(await h.runtime.listPodSandbox(), []);
});

test('pod manager: garbage collection removes only bosun sandboxes of pods that no longer exist', async (t) => {
  const { h, manager } = setup();
  manager.upsert(pod({}, 'kept'));
  await settle(h, manager);
  const orphan = new PodManager({ ...h.deps(), api: new FakePodApi() });
  orphan.upsert(pod({ containers: [c('x')] }, 'orphan'));
  for (const worker of orphan.workers.values()) await worker.idle();
  orphan.close();
  const foreign = await h.runtime.runPodSandbox({
    metadata: { name: 'foreign', namespace: 'x', uid: 'foreign-1' },
    labels: { app: 'not-ours' },
  });
  const removed = await manager.collectGarbage(new Set(['uid-kept']));
  t.is(removed.length, 1);
  const left = (await h.runtime.listPodSandbox()).map((s) => s.metadata?.name).sort();
  t.deepEqual(left, ['foreign', 'kept']);
  // the very sandbox the test made, still running: not one recreated under the same name
  t.is((await h.runtime.podSandboxStatus(foreign)).status?.state, 'SANDBOX_READY', 'the foreign sandbox is untouched');
  t.false(
    h.runtime.calls.some((call) => call.method === 'stopPodSandbox' && call.args[0] === foreign),
    'garbage collection never stopped the foreign sandbox',
  );
  manager.close();
});

/** The runtime calls made since `from`, by method name. */
const methodsSince = (h: Harness, from: number) => h.runtime.calls.slice(from).map((call) => call.method);

test('pod manager: a pod new to the node has its sandbox asked for at once, with no listing first', async (t) => {
  const { h, api, manager } = setup();
  await manager.loadAdopted();
  const from = h.runtime.calls.length;
  manager.upsert(pod());
  await settle(h, manager);
  const methods = methodsSince(h, from);
  t.is(methods[0], 'runPodSandbox', `calls: ${methods.join(', ')}`);
  // the status still comes from what the runtime shows once the container started
  t.true(methods.lastIndexOf('listContainers') > methods.indexOf('startContainer'));
  t.is(api.written.at(-1)?.status.phase, 'Running');
  manager.close();
});

test('pod manager: a pod the runtime may hold something of is observed before anything is made', async (t) => {
  // one that ran before the agent started (adopted), and one before the agent listed nothing at all
  const before = setup();
  const earlier = new PodManager({ ...before.h.deps(), api: new FakePodApi() });
  earlier.upsert(pod({}, 'adopted'));
  for (const worker of earlier.workers.values()) await worker.idle();
  earlier.close();
  await before.manager.loadAdopted();
  const fresh = setup();
  for (const [{ h, manager }, name] of [
    [before, 'adopted'],
    [fresh, 'web'],
  ] as const) {
    const from = h.runtime.calls.length;
    manager.upsert(pod({}, name));
    await settle(h, manager);
    t.true(['listPodSandbox', 'listContainers'].includes(methodsSince(h, from)[0] ?? ''), name);
    manager.close();
  }
  t.is((await before.h.runtime.listPodSandbox()).length, 1, 'the adopted pod runs in the sandbox it had');
});
