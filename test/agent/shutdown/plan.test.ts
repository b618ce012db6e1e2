/** Graceful node shutdown: the ordering plan, the manager against a stateful fake logind, busctl's signal lines. */
import test from 'ava';
import {
  invalidShutdownSettings,
  planShutdown,
  shutdownMessage,
  type ShutdownPod,
} from '../../../agent/shutdown/shutdown-plan.ts';
import { GracefulShutdown } from '../../../agent/shutdown/graceful-shutdown.ts';
import { isPrepareForShutdown, type Logind } from '../../../agent/shutdown/logind.ts';

const pods: ShutdownPod[] = [
  { uid: '1', namespace: 'default', name: 'web', terminationGracePeriodSeconds: 60 },
  { uid: '2', namespace: 'kube-system', name: 'dns', priorityClassName: 'system-cluster-critical' },
  { uid: '3', namespace: 'default', name: 'batch', terminationGracePeriodSeconds: 5 },
  {
    uid: '4',
    namespace: 'kube-system',
    name: 'proxy',
    priorityClassName: 'system-node-critical',
    terminationGracePeriodSeconds: 2,
  },
  { uid: '5', namespace: 'default', name: 'done', phase: 'Succeeded' },
  { uid: '6', namespace: 'default', name: 'high', priorityClassName: 'high-priority' },
];

test('off by default: grace period 0 plans nothing (as upstream)', (t) => {
  t.deepEqual(planShutdown(pods, { gracePeriodSeconds: 0, criticalGracePeriodSeconds: 0 }), []);
});

test('regular pods first within grace − critical, then critical pods within the critical grace', (t) => {
  const phases = planShutdown(pods, { gracePeriodSeconds: 30, criticalGracePeriodSeconds: 10 });
  t.deepEqual(
    phases.map((p) => [p.critical, p.budgetSeconds, p.kills.map((k) => `${k.name}:${k.gracePeriodSeconds}`)]),
    [
      [false, 20, ['batch:5', 'high:20', 'web:20']],
      [true, 10, ['dns:10', 'proxy:2']],
    ],
  );
  for (const kill of phases.flatMap((p) => p.kills))
    t.deepEqual(kill.status, { phase: 'Failed', reason: 'Terminated', message: shutdownMessage });
  t.is(shutdownMessage, 'Pod was terminated in response to imminent node shutdown.');
});

test('a critical grace equal to the whole grace leaves regular pods no time, not negative time', (t) => {
  const phases = planShutdown(pods, { gracePeriodSeconds: 10, criticalGracePeriodSeconds: 10 });
  t.true(phases[0]!.kills.every((k) => k.gracePeriodSeconds === 0));
});

test('settings that make no sense are one-line errors', (t) => {
  t.is(invalidShutdownSettings({ gracePeriodSeconds: 30, criticalGracePeriodSeconds: 10 }), undefined);
  t.regex(
    invalidShutdownSettings({ gracePeriodSeconds: 10, criticalGracePeriodSeconds: 20 })!,
    /cannot be longer than --shutdown-grace-period/,
  );
  t.regex(invalidShutdownSettings({ gracePeriodSeconds: -1, criticalGracePeriodSeconds: 0 })!, /0 or more/);
});

/** A stateful logind: whether it runs, who holds the lock, and a way to announce a shutdown. */
class FakeLogind implements Logind {
  running = true;
  locks = 0;
  watchers = new Set<() => void>();
  available() {
    return this.running;
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

const quietLog = (lines: string[]) => ({
  info: (_: object, m: string) => lines.push(m),
  warn: (_: object, m: string) => lines.push(m),
});

test('on PrepareForShutdown: regular pods stopped before critical ones, then the lock is released', async (t) => {
  const logind = new FakeLogind();
  const stopped: string[] = [];
  const manager = new GracefulShutdown({
    settings: { gracePeriodSeconds: 30, criticalGracePeriodSeconds: 10 },
    logind,
    pods: () => pods,
    stopPod: async (kill) => {
      stopped.push(kill.name);
    },
    log: quietLog([]),
  });
  t.true(manager.start());
  t.is(logind.locks, 1, 'the delay lock is held while the node runs');
  logind.announce();
  await manager.drained;
  t.deepEqual(stopped, ['batch', 'high', 'web', 'dns', 'proxy']);
  t.is(logind.locks, 0, 'released once pods are stopped, so the shutdown goes on');
  t.is(logind.watchers.size, 0);
});

test('without logind: says so and does nothing; with grace 0: off', (t) => {
  const logind = new FakeLogind();
  logind.running = false;
  const lines: string[] = [];
  const stopPod = async () => undefined;
  t.false(
    new GracefulShutdown({
      settings: { gracePeriodSeconds: 30, criticalGracePeriodSeconds: 10 },
      logind,
      pods: () => pods,
      stopPod,
      log: quietLog(lines),
    }).start(),
  );
  t.deepEqual(lines, ['graceful node shutdown is off: systemd-logind is not running on this machine']);
  t.is(logind.locks, 0);
  logind.running = true;
  t.false(
    new GracefulShutdown({
      settings: { gracePeriodSeconds: 0, criticalGracePeriodSeconds: 0 },
      logind,
      pods: () => pods,
      stopPod,
      log: quietLog([]),
    }).start(),
  );
  t.is(logind.locks, 0);
});

test("busctl's PrepareForShutdown(true) line is recognised; (false) and other signals are not", (t) => {
  t.true(isPrepareForShutdown('{"type":"signal","member":"PrepareForShutdown","payload":{"type":"b","data":[true]}}'));
  t.false(
    isPrepareForShutdown('{"type":"signal","member":"PrepareForShutdown","payload":{"type":"b","data":[false]}}'),
  );
  t.false(isPrepareForShutdown('{"type":"signal","member":"PrepareForSleep","payload":{"type":"b","data":[true]}}'));
  t.false(isPrepareForShutdown('not json'));
});
