/**
 * Graceful node shutdown wired to the pod manager, over the stateful fake CRI and a fake logind
 * told to announce PrepareForShutdown. The runtime honours each stop's timeout the way containerd
 * does with a container that ignores SIGTERM: the stop returns only once the timeout ran out, so
 * every phase uses its whole budget and the timings show what each pod was given.
 */
import test from 'ava';
import type { Pod, PodStatus } from '../../../kube/corev1.ts';
import type { CriRuntime } from '../../../cri/runtime.ts';
import { PodManager } from '../../../agent/pods/pod-manager.ts';
import type { PodApi } from '../../../agent/pods/status-writer.ts';
import { GracefulShutdown } from '../../../agent/shutdown/graceful-shutdown.ts';
import type { Logind } from '../../../agent/shutdown/logind.ts';
import { shutdownMessage } from '../../../agent/shutdown/shutdown-plan.ts';
import { pod } from '../fixtures.ts';
import { Harness, runtimeWith } from '../worker-harness.ts';

class FakePodApi implements PodApi {
  readonly written = new Map<string, PodStatus>();
  async writeStatus(p: Pod, status: PodStatus): Promise<void> {
    this.written.set(p.metadata.name!, status);
  }
  async deletePod(): Promise<void> {}
}

/** A logind that runs, counts the delay locks held, and announces a shutdown when told. */
class FakeLogind implements Logind {
  locks = 0;
  readonly watchers = new Set<() => void>();
  available() {
    return true;
  }
  inhibitShutdown() {
    this.locks++;
    let held = true;
    return () => {
      if (held) {
        held = false;
        this.locks--;
      }
    };
  }
  watchShutdown(fn: () => void) {
    this.watchers.add(fn);
    return () => {
      this.watchers.delete(fn);
    };
  }
  announce() {
    for (const fn of this.watchers) fn();
  }
}

interface Stop {
  pod: string;
  timeoutSec: number;
  startedAt: number;
  endedAt?: number;
}

/** The fake runtime, but a StopContainer takes its whole timeout (SIGTERM ignored, SIGKILL at the end). */
function stubbornRuntime(h: Harness, stops: Stop[]): CriRuntime {
  const podOf = async (containerId: string) => {
    const [container] = await h.runtime.listContainers({ id: containerId });
    const [sandbox] = await h.runtime.listPodSandbox({ id: container!.podSandboxId });
    return sandbox!.metadata!.name;
  };
  const stopContainer = async (id: string, timeoutSec: number, options?: object) => {
    const stop: Stop = { pod: await podOf(id), timeoutSec, startedAt: h.clock.now() };
    stops.push(stop);
    await new Promise<void>((resolve) => h.clock.after(timeoutSec * 1000, resolve));
    await h.runtime.stopContainer(id, timeoutSec, options);
    stop.endedAt = h.clock.now();
  };
  return runtimeWith(h.runtime, { stopContainer });
}

const harnesses: Harness[] = [];
test.after.always(() => {
  for (const h of harnesses) h.cleanup();
});

/** Moves the manual clock in small steps, letting the workers run between them, until `done` or the deadline. */
async function pump(h: Harness, isDone: () => boolean, deadlineMs: number): Promise<void> {
  const end = h.clock.now() + deadlineMs;
  while (!isDone()) {
    if (h.clock.now() >= end) throw new Error(`shutdown did not finish within ${deadlineMs} ms of fake time`);
    h.clock.advance(100);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    // and a real moment for file-system callbacks from the thread pool, which immediates do not
    // wait for: on a busy machine fake time otherwise ran ahead of the workers
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

test('node shutdown: regular pods stop first within their budget, then critical ones; all end Failed/Terminated', async (t) => {
  const h = new Harness();
  harnesses.push(h);
  const stops: Stop[] = [];
  const api = new FakePodApi();
  const { onStatus: _s, onTerminated: _t, ...deps } = h.deps();
  const manager = new PodManager({ ...deps, runtime: stubbornRuntime(h, stops), api });
  manager.upsert(pod({}, 'web')); // upstream's default grace, 30 s: more than its phase allows
  manager.upsert(pod({ terminationGracePeriodSeconds: 3 }, 'batch'));
  manager.upsert(pod({ priorityClassName: 'system-cluster-critical' }, 'dns'));
  manager.upsert(pod({ priorityClassName: 'system-node-critical', terminationGracePeriodSeconds: 2 }, 'proxy'));
  await pump(h, () => [...api.written.values()].filter((s) => s.phase === 'Running').length === 4, 10_000);

  const logind = new FakeLogind();
  const lines: string[] = [];
  const log = { info: (_: object, m: string) => lines.push(m), warn: (_: object, m: string) => lines.push(m) };
  // 10 s in all, 4 s of it for critical pods: regular pods get 6 s
  const shutdown = new GracefulShutdown({
    settings: { gracePeriodSeconds: 10, criticalGracePeriodSeconds: 4 },
    logind,
    clock: h.clock,
    log,
    pods: () => manager.shutdownCandidates(),
    stopPod: (kill) => manager.stopForShutdown(kill),
  });
  t.true(shutdown.start());
  t.is(logind.locks, 1);
  const start = h.clock.now();
  logind.announce();
  t.true(shutdown.shuttingDown);
  let drained = false;
  void shutdown.drained!.then(() => {
    drained = true;
  });
  await pump(h, () => drained, 30_000);
  await manager.statuses.flushed();

  const of = (name: string) => stops.find((s) => s.pod === name)!;
  t.deepEqual(stops.map((s) => s.pod).sort(), ['batch', 'dns', 'proxy', 'web'], "each pod's container stopped once");
  t.is(of('web').timeoutSec, 6, "a 30 s grace is capped to the regular phase's 6 s");
  t.is(of('batch').timeoutSec, 3, 'a shorter grace of its own is kept');
  t.is(of('dns').timeoutSec, 4, 'critical pods get the critical budget');
  t.is(of('proxy').timeoutSec, 2);
  // a worker begins its stop on its next turn (here within one 100 ms step), hence the 200 ms slack
  for (const regular of ['web', 'batch'])
    t.true(of(regular).endedAt! - start <= 6_000 + 200, `${regular} stopped within the regular budget`);
  const regularPhaseOver = Math.min(Math.max(of('web').endedAt!, of('batch').endedAt!), start + 6_000);
  for (const critical of ['dns', 'proxy']) {
    t.true(
      of(critical).startedAt >= regularPhaseOver,
      `${critical} began stopping only once the regular phase was over`,
    );
  }
  for (const critical of ['dns', 'proxy']) {
    t.true(of(critical).endedAt! - start <= 10_000 + 200, `${critical} stopped within the whole grace period`);
  }
  for (const name of ['web', 'batch', 'dns', 'proxy']) {
    const status = api.written.get(name)!;
    t.like(status, { phase: 'Failed', reason: 'Terminated', message: shutdownMessage }, name);
  }
  t.is(logind.locks, 0, 'the delay lock is released once pods stopped, so the shutdown goes on');
  t.true(lines.includes('node shutdown: stopping pods'));
  manager.close();
});
