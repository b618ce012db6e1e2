/** Probe scheduling: defaults, the startup gate, first-run jitter, thresholds, timed out vs failed. */
import test from 'ava';
import {
  firstProbeTrack,
  probeDemandsRestart,
  probeMayRun,
  probeSettings,
  recordProbeOutcome,
  type ProbeOutcome,
  type ProbeTrack,
} from '../../../agent/pods/probe-schedule.ts';

test('probe defaults are the API defaults; liveness and startup succeed after one success', (t) => {
  t.deepEqual(probeSettings({ exec: { command: ['x'] } }, 'readiness'), {
    initialDelayMs: 0,
    periodMs: 10_000,
    timeoutMs: 1_000,
    successThreshold: 1,
    failureThreshold: 3,
  });
  t.is(probeSettings({ successThreshold: 3 }, 'liveness').successThreshold, 1);
  t.is(probeSettings({ successThreshold: 3 }, 'readiness').successThreshold, 3);
});

test('the first run waits for the initial delay from the container start', (t) => {
  const settings = probeSettings({ initialDelaySeconds: 5 }, 'readiness');
  const track = firstProbeTrack('readiness', settings, {
    containerStartedAt: 1_000,
    now: 2_000,
    agentStartedAt: -100_000,
    random: 0.9,
  });
  t.is(track.nextRunAt, 6_000, 'no jitter when the agent has been up longer than a period');
  t.is(track.result, 'failure', 'readiness starts as not ready');
});

test('right after an agent start, first runs are spread over a period', (t) => {
  const settings = probeSettings({}, 'liveness');
  const at = (random: number) =>
    firstProbeTrack('liveness', settings, { containerStartedAt: 0, now: 100_000, agentStartedAt: 99_000, random })
      .nextRunAt;
  t.is(at(0), 100_000);
  t.is(at(0.5), 105_000);
  t.true(at(0.99) < 110_000);
});

test('a re-adopted container keeps its last reported readiness until the first probe', (t) => {
  const settings = probeSettings({}, 'readiness');
  const track = firstProbeTrack('readiness', settings, {
    containerStartedAt: 0,
    now: 1,
    agentStartedAt: 0,
    random: 0,
    lastKnownReady: true,
  });
  t.is(track.result, 'success');
});

function run(track: ProbeTrack, outcomes: ProbeOutcome[], settings = probeSettings({}, track.kind)): ProbeTrack[] {
  const seen: ProbeTrack[] = [];
  let now = 0;
  for (const outcome of outcomes) {
    now += settings.periodMs;
    track = recordProbeOutcome(track, settings, outcome, now);
    seen.push(track);
  }
  return seen;
}

const ok: ProbeOutcome = { kind: 'success' };
const bad: ProbeOutcome = { kind: 'failure', message: 'HTTP probe failed with status 500' };
const slow: ProbeOutcome = { kind: 'timeout', message: 'no answer within 1s' };
const broken: ProbeOutcome = { kind: 'error', message: 'runtime unavailable' };

test('liveness fails after three failures in a row; a success in between resets the count', (t) => {
  const start = firstProbeTrack('liveness', probeSettings({}, 'liveness'), {
    containerStartedAt: 0,
    now: 0,
    agentStartedAt: -1e9,
    random: 0,
  });
  const tracks = run(start, [bad, bad, ok, bad, bad, slow]);
  t.deepEqual(
    tracks.map((x) => x.result),
    ['success', 'success', 'success', 'success', 'success', 'failure'],
  );
  t.true(probeDemandsRestart(tracks.at(-1)!));
  t.is(tracks.at(-1)!.lastMessage, 'probe timed out: no answer within 1s', 'a timeout is reported as such');
  t.is(tracks[0]!.lastMessage, 'probe failed: HTTP probe failed with status 500');
});

test('a probe that could not run changes nothing', (t) => {
  const start = firstProbeTrack('liveness', probeSettings({ failureThreshold: 1 }, 'liveness'), {
    containerStartedAt: 0,
    now: 0,
    agentStartedAt: -1e9,
    random: 0,
  });
  const [after] = run(start, [broken], probeSettings({ failureThreshold: 1 }, 'liveness'));
  t.is(after!.result, 'success');
  t.is(after!.failures, 0);
  t.false(probeDemandsRestart(after!));
});

test('readiness needs successThreshold successes in a row and never demands a restart', (t) => {
  const settings = probeSettings({ successThreshold: 2, failureThreshold: 1 }, 'readiness');
  const start = firstProbeTrack('readiness', settings, {
    containerStartedAt: 0,
    now: 0,
    agentStartedAt: -1e9,
    random: 0,
  });
  const tracks = run(start, [ok, bad, ok, ok, bad], settings);
  t.deepEqual(
    tracks.map((x) => x.result),
    ['failure', 'failure', 'failure', 'success', 'failure'],
  );
  t.false(tracks.some(probeDemandsRestart));
});

test('the startup probe gates the others and stops once it succeeded', (t) => {
  const settings = probeSettings({}, 'startup');
  const start = firstProbeTrack('startup', settings, {
    containerStartedAt: 0,
    now: 0,
    agentStartedAt: -1e9,
    random: 0,
  });
  t.is(start.result, 'unknown');
  t.false(probeMayRun('liveness', start));
  t.false(probeMayRun('readiness', start));
  t.true(probeMayRun('startup', start));
  const [passed] = run(start, [ok]);
  t.true(passed!.finished);
  t.true(probeMayRun('liveness', passed));
  t.false(probeMayRun('startup', passed));
  t.true(probeMayRun('readiness', undefined), 'without a startup probe nothing is gated');
  const failed = run(start, [bad, bad, bad]).at(-1)!;
  t.true(probeDemandsRestart(failed));
});
