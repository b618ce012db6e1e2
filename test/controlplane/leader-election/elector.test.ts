import test from 'ava';
import type { Lease } from '../../../kube/corev1.ts';
import { ApiError } from '../../../kube/errors.ts';
import {
  defaultLeaderElectionTimings,
  leaderElectionTimingsProblem,
} from '../../../controlplane/leader-election/election-config.ts';
import {
  attemptDueIn,
  initialElectorState,
  isLeading,
  observe,
  planAttempt,
  renewed,
  standbyWait,
} from '../../../controlplane/leader-election/elector-state.ts';
import { LeaderElector, type LeaseClient } from '../../../controlplane/leader-election/leader-elector.ts';
import { fencedClient } from '../../../controlplane/leader-election/fenced-client.ts';
import { ElectedComponent } from '../../../controlplane/leader-election/elected-component.ts';
import { fencedAutoscalerSeam } from '../../../controlplane/controllers/hpa/api.ts';
import { candidateIdentity } from '../../../controlplane/leader-election/candidate-identity.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { startControllerManager, startScheduler } from '../../../controlplane/controllers/control-loops.ts';
import { isCodedError } from '../../../kube/errors.ts';
import { ManualClock } from '../../agent/manual-clock.ts';

const t0 = Date.parse('2026-12-07T10:00:00Z');
const timings = defaultLeaderElectionTimings;
const candidate = (identity: string) => ({ namespace: 'kube-system', name: 'kube-scheduler', identity, timings });

/** A Lease store with resourceVersions: a stale write is a Conflict, as the API answers. */
class LeaseStore {
  lease: Lease | undefined;
  version = 0;
  writes: { holder: string; at: number }[] = [];
  /** Watches opened so far; while `watchBroken`, each one fails at once. */
  watchOpens = 0;
  watchBroken = false;
  readonly #watchers = new Set<(lease: Lease | undefined) => void>();
  readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  /** Watches the lease as the API does: the lease as it is, then every write, until aborted. */
  async *#watch(signal: AbortSignal): AsyncGenerator<Lease | undefined> {
    this.watchOpens++;
    if (this.watchBroken) throw new ApiError('ServiceUnavailable', 'watch broke');
    const queue: (Lease | undefined)[] = [this.lease && structuredClone(this.lease)];
    let wake = () => {};
    const push = (lease: Lease | undefined) => {
      queue.push(lease && structuredClone(lease));
      wake();
    };
    const stop = () => wake();
    this.#watchers.add(push);
    signal.addEventListener('abort', stop);
    try {
      while (!signal.aborted) {
        if (queue.length > 0) yield queue.shift();
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.#watchers.delete(push);
      signal.removeEventListener('abort', stop);
    }
  }
  clientFor(reachable: () => boolean): LeaseClient {
    const guard = () => {
      if (!reachable()) throw new ApiError('ServiceUnavailable', 'etcd unreachable');
    };
    return {
      watch: (_namespace, _name, signal) => this.#watch(signal),
      get: async () => {
        guard();
        return this.lease && structuredClone(this.lease);
      },
      create: async (lease) => {
        guard();
        if (this.lease) throw new ApiError('AlreadyExists', 'exists');
        return this.#store(lease);
      },
      update: async (lease) => {
        guard();
        if (lease.metadata.resourceVersion !== String(this.version)) throw new ApiError('Conflict', 'stale');
        return this.#store(lease);
      },
    };
  }
  #store(lease: Lease): Lease {
    this.version++;
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(this.version) } };
    this.writes.push({ holder: lease.spec?.holderIdentity ?? '', at: this.clock.now() });
    for (const push of this.#watchers) push(this.lease);
    return structuredClone(this.lease);
  }
}

/** The scheduler's lease as a_1 holds it. */
const heldLease = (resourceVersion: string, transitions: number, acquireTime: string, renewTime: string): Lease => ({
  metadata: { namespace: 'kube-system', name: 'kube-scheduler', resourceVersion },
  spec: { holderIdentity: 'a_1', leaseDurationSeconds: 15, acquireTime, renewTime, leaseTransitions: transitions },
});

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

test('the first candidate creates the lease: holder, no transitions, acquireTime = renewTime', (t) => {
  const state = observe(initialElectorState, undefined, t0);
  const write = planAttempt(state, candidate('a_1'), t0);
  t.is(write.kind, 'create');
  if (write.kind !== 'create') return;
  t.like(write.lease, {
    metadata: { namespace: 'kube-system', name: 'kube-scheduler' },
    spec: { holderIdentity: 'a_1', leaseDurationSeconds: 15, leaseTransitions: 0 },
  });
  t.is(write.lease.spec?.acquireTime, '2026-12-07T10:00:00.000000Z');
  t.is(write.lease.spec?.renewTime, write.lease.spec?.acquireTime);
});

test('a standby judges the lease by when it saw it change, not by the renewTime another clock wrote', (t) => {
  // the holder's clock is an hour behind: its renewTime looks long expired, yet it renewed just now
  const held = heldLease('7', 3, '2026-12-07T09:00:00.000000Z', '2026-12-07T09:00:00.000000Z');
  let state = observe(initialElectorState, held, t0);
  t.deepEqual(planAttempt(state, candidate('b_2'), t0), { kind: 'none', heldBy: 'a_1' });
  // the same record seen again does not restart the wait
  state = observe(state, { ...held, metadata: { ...held.metadata } }, t0 + 14_999);
  t.is(planAttempt(state, candidate('b_2'), t0 + 14_999).kind, 'none');
  const takeover = planAttempt(state, candidate('b_2'), t0 + 15_000);
  t.is(takeover.kind, 'update');
  if (takeover.kind !== 'update') return;
  t.is(takeover.lease.metadata.resourceVersion, '7', 'the write is conditional on the version read');
  t.like(takeover.lease.spec, {
    holderIdentity: 'b_2',
    leaseTransitions: 4,
    acquireTime: '2026-12-07T10:00:15.000000Z',
  });
});

test('a renewal keeps acquireTime and leaseTransitions; a released lease (no holder) is taken at once', (t) => {
  const mine = heldLease('3', 2, '2026-12-07T09:59:00.000000Z', '2026-12-07T09:59:58.000000Z');
  const renewal = planAttempt(observe(initialElectorState, mine, t0), candidate('a_1'), t0);
  t.like(renewal, {
    kind: 'update',
    lease: {
      spec: {
        acquireTime: '2026-12-07T09:59:00.000000Z',
        renewTime: '2026-12-07T10:00:00.000000Z',
        leaseTransitions: 2,
      },
    },
  });
  const released: Lease = { ...mine, spec: { ...mine.spec, holderIdentity: '', leaseDurationSeconds: 1 } };
  t.like(planAttempt(observe(initialElectorState, released, t0), candidate('b_2'), t0), {
    kind: 'update',
    lease: { spec: { holderIdentity: 'b_2', leaseTransitions: 3 } },
  });
});

test('a standby tries again when the lease it saw runs out, not up to a retry period later', (t) => {
  const held = heldLease('7', 3, '2026-12-07T10:00:00.000000Z', '2026-12-07T10:00:00.000000Z');
  const state = observe(initialElectorState, held, t0);
  t.is(standbyWait(state, 'b_2', 3_200, t0 + 2_000), 3_200, 'far from the end: the jittered retry period');
  t.is(standbyWait(state, 'b_2', 3_200, t0 + 14_000), 1_000, 'the lease ends in 1 s: then');
  t.is(standbyWait(state, 'b_2', 3_200, t0 + 15_000), 3_200, 'ended: the next attempt takes it, no shortcut');
  t.is(standbyWait(observe(initialElectorState, undefined, t0), 'b_2', 3_200, t0), 3_200);
});

test('a renewal seen through the watch restarts the wait from that moment; an older copy read late changes nothing', (t) => {
  const first = heldLease('7', 3, '2026-12-07T10:00:00.000000Z', '2026-12-07T10:00:00.000000Z');
  let state = observe(initialElectorState, first, t0);
  t.is(attemptDueIn(state, 'b_2', t0 + 1_000), 14_000, 'the lease seen at t0 ends at t0 + 15 s');
  const renewal = heldLease('8', 3, '2026-12-07T10:00:00.000000Z', '2026-12-07T10:00:05.000000Z');
  state = observe(state, renewal, t0 + 5_000);
  t.is(attemptDueIn(state, 'b_2', t0 + 5_000), 15_000, 'counted again from the renewal seen');
  t.is(planAttempt(state, candidate('b_2'), t0 + 19_999).kind, 'none');
  t.is(planAttempt(state, candidate('b_2'), t0 + 20_000).kind, 'update');
  // a read begun before the renewal answers after it: the older version is not taken
  t.is(observe(state, first, t0 + 6_000), state);
  // released, or deleted: at once; while leading: on the leader's own schedule
  const released: Lease = { ...renewal, spec: { ...renewal.spec, holderIdentity: '' } };
  t.is(
    attemptDueIn(
      observe(state, { ...released, metadata: { ...released.metadata, resourceVersion: '9' } }, t0 + 7_000),
      'b_2',
      t0 + 7_000,
    ),
    0,
  );
  t.is(attemptDueIn(observe(state, undefined, t0 + 7_000), 'b_2', t0 + 7_000), 0);
  t.is(attemptDueIn(renewed(renewal, t0), 'a_1', t0 + 1_000), undefined);
});

/** Two candidates on one store: a_1 starts first and leads; the test cuts it off from the store. */
async function twoCandidates(store: LeaseStore, clock: ManualClock) {
  const cut = { a: false };
  const events: string[] = [];
  const elector = (id: string, reachable: () => boolean, random: number) =>
    new LeaderElector({
      namespace: 'kube-system',
      name: 'kube-controller-manager',
      identity: id,
      timings,
      leases: store.clientFor(reachable),
      clock,
      random: () => random,
      onStartedLeading: () => events.push(`${id} started ${clock.now() - t0}`),
      onStoppedLeading: () => events.push(`${id} stopped ${clock.now() - t0}`),
    });
  const a = elector('a_1', () => !cut.a, 0);
  const b = elector('b_2', () => true, 0.5);
  const stop = new AbortController();
  const runA = a.run(stop.signal);
  await settle();
  const runB = b.run(stop.signal);
  await settle();
  let overlap = 0;
  /** Moves the clock to `until` (ms after t0) in steps of at most 100 ms, checking for two leaders. */
  const stepTo = async (until: number) => {
    while (clock.now() < t0 + until) {
      clock.advance(Math.min(100, t0 + until - clock.now()));
      await settle();
      if (a.isLeader() && b.isLeader()) overlap++;
    }
  };
  return {
    a,
    b,
    cut,
    events,
    stepTo,
    overlap: () => overlap,
    stop: async () => {
      stop.abort();
      await Promise.all([runA, runB]);
    },
  };
}

test('watching the lease, a standby takes over at the very moment the last renewal it saw runs out', async (t) => {
  const clock = new ManualClock(t0);
  const store = new LeaseStore(clock);
  const run = await twoCandidates(store, clock);
  await run.stepTo(30_000);
  t.true(run.a.isLeader());
  const lastRenewal = store.writes.at(-1)!.at - t0;
  run.cut.a = true;
  const end = lastRenewal + timings.leaseDurationMs;
  await run.stepTo(end - 1);
  t.false(run.b.isLeader(), 'not a millisecond before the lease it saw ends');
  await run.stepTo(end);
  t.true(run.b.isLeader(), `led at ${clock.now() - t0}, the lease seen ended at ${end}`);
  t.like(store.writes.at(-1), { holder: 'b_2', at: t0 + end });
  t.is(run.overlap(), 0, 'never two leaders at one instant');
  t.deepEqual(run.events, [
    'a_1 started 0',
    `a_1 stopped ${lastRenewal + timings.renewDeadlineMs}`,
    `b_2 started ${end}`,
  ]);
  await run.stop();
});

test('a watch that breaks falls back to polling, and is opened again a retry period later', async (t) => {
  const clock = new ManualClock(t0);
  const store = new LeaseStore(clock);
  store.watchBroken = true;
  const run = await twoCandidates(store, clock);
  await run.stepTo(30_000);
  // both candidates keep trying, once per retry period each, never in a tight loop
  t.true(store.watchOpens >= 2 * 15 && store.watchOpens <= 2 * 16, `${store.watchOpens} watches opened in 30 s`);
  const lastRenewal = store.writes.at(-1)!.at - t0;
  run.cut.a = true;
  await run.stepTo(lastRenewal + 30_000);
  const startedAt = Number(run.events.find((e) => e.startsWith('b_2 started'))?.split(' ')[2]);
  // the lease from when b read the last renewal (it reads every 3.2 s here), as before the watch
  t.true(startedAt >= lastRenewal + timings.leaseDurationMs, `took over at ${startedAt}`);
  t.true(startedAt <= lastRenewal + timings.leaseDurationMs + 3_200 + 100, `took over at ${startedAt}`);
  t.is(run.overlap(), 0);
  await run.stop();
});

test('a leader stops leading at the renew deadline, before its lease can expire for a standby', (t) => {
  const state = renewed({ metadata: {} }, t0);
  t.true(isLeading(state, timings, t0 + timings.renewDeadlineMs - 1));
  t.false(isLeading(state, timings, t0 + timings.renewDeadlineMs));
  t.true(timings.renewDeadlineMs < timings.leaseDurationMs);
});

test("timings are checked with upstream's rules", (t) => {
  t.is(leaderElectionTimingsProblem(timings), undefined);
  t.is(
    leaderElectionTimingsProblem({ ...timings, renewDeadlineMs: 15_000 }),
    'leaseDuration must be greater than renewDeadline',
  );
  t.is(
    leaderElectionTimingsProblem({ ...timings, retryPeriodMs: 9_000 }),
    'renewDeadline must be greater than retryPeriod*JitterFactor',
  );
  t.regex(candidateIdentity('server-1'), /^server-1_[0-9a-f-]{36}$/);
});

test('two candidates: one leads; cut off, it stops at the renew deadline and the other starts only after the lease', async (t) => {
  const clock = new ManualClock(t0);
  const store = new LeaseStore(clock);
  const run = await twoCandidates(store, clock);
  const { a, b, events } = run;
  t.true(a.isLeader());
  t.false(b.isLeader());
  await run.stepTo(30_000);
  t.true(a.isLeader(), 'the leader keeps renewing');
  t.deepEqual(events, ['a_1 started 0']);
  const lastRenewal = store.writes.at(-1)!.at - t0;
  run.cut.a = true;
  await run.stepTo(60_000);
  t.is(run.overlap(), 0, 'never two leaders at one instant');
  const stoppedAt = Number(events[1]?.split(' ')[2]);
  const startedAt = Number(events[2]?.split(' ')[2]);
  t.is(events[1]?.split(' ').slice(0, 2).join(' '), 'a_1 stopped');
  t.true(stoppedAt <= lastRenewal + timings.renewDeadlineMs, `stopped at ${stoppedAt}, renewed at ${lastRenewal}`);
  t.is(events[2]?.split(' ').slice(0, 2).join(' '), 'b_2 started');
  t.true(startedAt >= lastRenewal + timings.leaseDurationMs, `took over at ${startedAt}`);
  // the lease from when b saw the last renewal (it reads every 3.2 s here), and not a wait more
  t.true(startedAt <= lastRenewal + timings.leaseDurationMs + 3_200 + 100, `took over at ${startedAt}`);
  t.like(store.lease?.spec, { holderIdentity: 'b_2', leaseTransitions: 1 });
  // healed, the old leader comes back as a standby
  run.cut.a = false;
  await run.stepTo(70_000);
  t.false(a.isLeader());
  t.true(b.isLeader());
  t.is(run.overlap(), 0);
  await run.stop();
  t.is(store.lease?.spec?.holderIdentity, '', 'the leader steps down on a graceful stop');
});

test('the fenced client refuses writes once leadership is lost and still reads', async (t) => {
  const cluster = new MemoryCluster();
  let leading = true;
  const client = fencedClient(cluster, 'kube-system/kube-controller-manager', () => leading);
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default', name: 'p' }, spec: {} };
  await client.create('pods', pod);
  leading = false;
  const refused = await t.throwsAsync(() =>
    client.create('pods', { ...pod, metadata: { ...pod.metadata, name: 'q' } }),
  );
  t.true(isCodedError(refused, 'BOSUN_LEADER_ELECTION_LOST'));
  await t.throwsAsync(() => client.delete('pods', 'default', 'p'));
  await t.throwsAsync(() => client.bind('default', 'p', 'n1'));
  t.deepEqual(
    (await client.list('pods')).items.map((p) => p.metadata.name),
    ['p'],
    'nothing was written after the loss',
  );
});

test('a leader whose component fails to start tries again while it leads, and stops it when it ends', async (t) => {
  const clock = new ManualClock(t0);
  const store = new LeaseStore(clock);
  let attempts = 0;
  let stopped = 0;
  const component = new ElectedComponent({
    lease: 'kube-controller-manager',
    identity: 'a_1',
    timings,
    leases: store.clientFor(() => true),
    clock,
    client: new MemoryCluster(),
    start: async () => {
      if (++attempts === 1) throw new Error('the API is not reachable yet');
      return { stop: async () => void stopped++ };
    },
  });
  const stop = new AbortController();
  const running = component.run(stop.signal);
  await settle();
  t.is(attempts, 1);
  t.true(component.elector.isLeader());
  clock.advance(timings.retryPeriodMs);
  await settle();
  t.is(attempts, 2, 'started again one retry period later');
  stop.abort();
  await running;
  t.is(stopped, 1);
});

test('a component whose stop fails still starts again the next time its candidate leads', async (t) => {
  const clock = new ManualClock(t0);
  const store = new LeaseStore(clock);
  let reachable = true;
  let starts = 0;
  const errors: string[] = [];
  const component = new ElectedComponent({
    lease: 'kube-controller-manager',
    identity: 'a_1',
    timings,
    leases: store.clientFor(() => reachable),
    clock,
    client: new MemoryCluster(),
    logger: { error: (o: { err?: string }) => errors.push(o.err ?? ''), warn: () => {}, info: () => {} } as never,
    start: async () => {
      starts++;
      return {
        stop: async () => {
          throw new Error('a controller did not stop cleanly');
        },
      };
    },
  });
  const stop = new AbortController();
  const running = component.run(stop.signal);
  await settle();
  t.is(starts, 1);
  // cut off past its renew deadline: it stops leading, and stopping its loops fails
  reachable = false;
  for (let i = 0; i < 8; i++) {
    clock.advance(timings.retryPeriodMs);
    await settle();
  }
  t.false(component.elector.isLeader());
  // reachable again, with its own lease long expired: it leads and starts its loops again
  reachable = true;
  for (let i = 0; i < 12 && !component.elector.isLeader(); i++) {
    clock.advance(timings.retryPeriodMs);
    await settle();
  }
  await settle();
  t.true(component.elector.isLeader());
  t.is(starts, 2, 'started again after the failed stop');
  t.true(errors.some((e) => e.includes('did not stop cleanly')));
  stop.abort();
  await running;
});

test('a leader whose loops are still starting (their caches cannot fill) stops at once when asked', async (t) => {
  const clock = new ManualClock(t0);
  const store = new LeaseStore(clock);
  let abandoned = 0;
  const component = new ElectedComponent({
    lease: 'kube-scheduler',
    identity: 'a_1',
    timings,
    leases: store.clientFor(() => true),
    clock,
    client: new MemoryCluster(),
    // a start that ends only when it is no longer wanted, as one waiting on a datastore that is down
    start: (_client, signal?: AbortSignal) =>
      new Promise((_resolve, reject) =>
        signal?.addEventListener('abort', () => {
          abandoned++;
          reject(new Error('stopped before its caches were filled'));
        }),
      ),
  });
  const stop = new AbortController();
  const running = component.run(stop.signal);
  await settle();
  t.true(component.elector.isLeader());
  stop.abort();
  const outcome = await Promise.race([
    running.then(() => 'stopped'),
    new Promise((resolve) => setTimeout(() => resolve('still waiting for the start'), 2_000)),
  ]);
  t.is(outcome, 'stopped');
  t.is(abandoned, 1);
  t.is(store.lease?.spec?.holderIdentity, '', 'and the lease was given up');
});

test('the controllers and the scheduler stop waiting for caches that cannot fill once their start is abandoned', async (t) => {
  // every list hangs, as against a datastore that does not answer
  const cluster = new MemoryCluster();
  const hanging = new Proxy(cluster, {
    get: (target, key, receiver) => (key === 'list' ? () => new Promise(() => {}) : Reflect.get(target, key, receiver)),
  });
  for (const start of [
    (signal: AbortSignal) => startControllerManager({ client: hanging, signal }),
    (signal: AbortSignal) => startScheduler({ client: hanging, signal }),
  ]) {
    const abandon = new AbortController();
    const starting = start(abandon.signal);
    setTimeout(() => abandon.abort(), 50);
    const outcome = await Promise.race([
      starting.then(
        () => 'started',
        (err: Error) => err.message,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 3_000)),
    ]);
    t.is(outcome, 'stopped before its caches were filled');
  }
});

test("the fence a component is started with refuses the autoscaler's own writes once its candidate no longer leads", async (t) => {
  const clock = new ManualClock(t0);
  const store = new LeaseStore(clock);
  let reachable = true;
  let fence: (() => void) | undefined;
  const component = new ElectedComponent({
    lease: 'kube-controller-manager',
    identity: 'a_1',
    timings,
    leases: store.clientFor(() => reachable),
    clock,
    client: new MemoryCluster(),
    logger: { error: () => {}, warn: () => {}, info: () => {} } as never,
    start: async (_client, _signal, given) => {
      fence = given;
      return { stop: async () => {} };
    },
  });
  const stop = new AbortController();
  const running = component.run(stop.signal);
  await settle();
  // the scale and status writes of the autoscaler go over HTTP, not through the fenced client
  const written: string[] = [];
  const seam = fencedAutoscalerSeam(
    {
      getScale: async () => ({ specReplicas: 1, statusReplicas: 1, selector: '' }),
      setScale: async (_ns, target, replicas) => void written.push(`${target.name}=${replicas}`),
      listPods: async () => [],
      listPodMetrics: async () => [],
      writeStatus: async (hpa) => void written.push(`status ${hpa.metadata.name}`),
      recordEvent: async () => {},
    },
    fence,
  );
  const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web' } };
  await seam.setScale('default', { kind: 'Deployment', name: 'web' }, 3);
  await seam.writeStatus(hpa);
  t.deepEqual(written, ['web=3', 'status web']);
  reachable = false;
  for (let i = 0; i < 8; i++) {
    clock.advance(timings.retryPeriodMs);
    await settle();
  }
  t.false(component.elector.isLeader());
  const refused = await t.throwsAsync(seam.setScale('default', { kind: 'Deployment', name: 'web' }, 5));
  t.true(isCodedError(refused, 'BOSUN_LEADER_ELECTION_LOST'), refused?.message);
  await t.throwsAsync(seam.writeStatus(hpa));
  t.deepEqual(written, ['web=3', 'status web'], 'nothing written after leadership was lost');
  stop.abort();
  await running;
});
