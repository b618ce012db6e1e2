/**
 * Graceful node shutdown raises logind's InhibitDelayMaxSec to the grace period when it is short,
 * as the kubelet does (a logind drop-in, then a reload), leaves a long enough cap alone, and says
 * so when the cap stays short after the reload.
 */
import test from 'ava';
import type { Clock } from '../../kube/clock.ts';
import { GracefulShutdown } from '../../agent/shutdown/graceful-shutdown.ts';
import { logindDropInText, parseInhibitDelayUsec, type InhibitDelay } from '../../agent/shutdown/inhibit-delay.ts';
import type { Logind } from '../../agent/shutdown/logind.ts';

const logind: Logind = {
  available: () => true,
  inhibitShutdown: () => () => undefined,
  watchShutdown: () => () => undefined,
};

/** logind's cap: `applies` says whether a reload takes the drop-in's value (a later drop-in may win). */
function fakeDelay(cap: number, applies = true) {
  const state = { cap, raisedTo: [] as number[] };
  const delay: InhibitDelay = {
    maxSeconds: async () => state.cap,
    raiseTo: async (seconds) => {
      state.raisedTo.push(seconds);
      if (applies) state.cap = seconds;
    },
  };
  return { state, delay };
}

/** A clock whose waits pass at once. */
function instantClock(): Clock {
  let now = 0;
  return {
    now: () => now,
    after(ms, fn) {
      now += ms;
      queueMicrotask(fn);
      return { cancel: () => undefined };
    },
  };
}

function shutdownWith(delay: InhibitDelay) {
  const lines: { level: string; message: string; fields: object }[] = [];
  const log = {
    info: (fields: object, message: string) => lines.push({ level: 'info', message, fields }),
    warn: (fields: object, message: string) => lines.push({ level: 'warn', message, fields }),
  };
  const shutdown = new GracefulShutdown({
    settings: { gracePeriodSeconds: 20, criticalGracePeriodSeconds: 8 },
    logind,
    pods: () => [],
    stopPod: async () => undefined,
    log,
    clock: instantClock(),
    inhibitDelay: delay,
  });
  return { shutdown, lines };
}

test('a cap shorter than the grace period is raised to it, and the agent says so', async (t) => {
  const { state, delay } = fakeDelay(5);
  const { shutdown, lines } = shutdownWith(delay);
  t.true(shutdown.start());
  await shutdown.delayChecked;
  t.deepEqual(state.raisedTo, [20]);
  t.true(lines.some((l) => l.level === 'info' && /raised logind's InhibitDelayMaxSec/.test(l.message)));
  t.false(lines.some((l) => l.level === 'warn'));
  shutdown.close();
});

test('a cap at least as long as the grace period is left alone', async (t) => {
  const { state, delay } = fakeDelay(30);
  const { shutdown, lines } = shutdownWith(delay);
  shutdown.start();
  await shutdown.delayChecked;
  t.deepEqual(state.raisedTo, []);
  t.false(lines.some((l) => /InhibitDelayMaxSec/.test(l.message)));
  shutdown.close();
});

test('a cap still short after the reload is reported with both values', async (t) => {
  const { state, delay } = fakeDelay(5, false);
  const { shutdown, lines } = shutdownWith(delay);
  shutdown.start();
  await shutdown.delayChecked;
  t.deepEqual(state.raisedTo, [20]);
  const warning = lines.find((l) => l.level === 'warn');
  t.regex(warning?.message ?? '', /still shorter than the shutdown grace period/);
  t.deepEqual(warning?.fields, { inhibitDelayMaxSeconds: 5, gracePeriodSeconds: 20 });
  shutdown.close();
});

test("the drop-in and busctl's answer", (t) => {
  t.regex(logindDropInText(20), /^\[Login\]\nInhibitDelayMaxSec=20\n$/m);
  t.is(parseInhibitDelayUsec('t 5000000\n'), 5);
  t.is(parseInhibitDelayUsec('t 30000000'), 30);
  t.is(parseInhibitDelayUsec('garbage'), undefined);
});
