import test from 'ava';
import { pino } from 'pino';
import { EventCorrelator, type CoreEvent } from '../../../agent/events/event-correlator.ts';
import { EventRecorder, type EventSink } from '../../../agent/events/event-recorder.ts';
import { podEvents, podReference } from '../../../agent/events/pod-events.ts';
import { ApiError } from '../../../kube/errors.ts';
import { pod, t0 } from '../fixtures.ts';
import { ManualClock } from '../manual-clock.ts';

const log = pino({ level: 'silent' });
const ref = podReference(pod(), 'app');

/** A sink that keeps Events by name, as the API would, and can be told to fail. */
class FakeSink implements EventSink {
  stored = new Map<string, CoreEvent>();
  calls: string[] = [];
  failNext: unknown[] = [];
  async create(event: CoreEvent): Promise<void> {
    this.calls.push(`create ${event.reason}`);
    const err = this.failNext.shift();
    if (err !== undefined) throw err;
    this.stored.set(event.metadata.name, structuredClone(event));
  }
  async patch(event: CoreEvent): Promise<void> {
    this.calls.push(`patch ${event.reason} ${event.count}`);
    const err = this.failNext.shift();
    if (err !== undefined) throw err;
    const current = this.stored.get(event.metadata.name);
    if (current === undefined) throw new ApiError('NotFound', 'not found');
    this.stored.set(event.metadata.name, {
      ...current,
      count: event.count,
      lastTimestamp: event.lastTimestamp,
      message: event.message,
    });
  }
}

test('an identical event within the window bumps count and lastTimestamp of one Event', (t) => {
  const clock = new ManualClock(t0);
  const correlator = new EventCorrelator({ clock, component: 'kubelet', host: 'n1' });
  const first = correlator.correlate({
    involvedObject: ref,
    type: 'Warning',
    reason: 'BackOff',
    message: 'Back-off restarting failed container app',
  });
  t.is(first.kind, 'create');
  clock.advance(10_000);
  const second = correlator.correlate({
    involvedObject: ref,
    type: 'Warning',
    reason: 'BackOff',
    message: 'Back-off restarting failed container app',
  });
  t.is(second.kind, 'patch');
  if (first.kind !== 'create' || second.kind !== 'patch') return;
  t.is(second.event.metadata.name, first.event.metadata.name);
  t.is(second.event.count, 2);
  t.is(second.event.firstTimestamp, '2026-01-01T12:00:00Z');
  t.is(second.event.lastTimestamp, '2026-01-01T12:00:10Z');
  t.deepEqual(first.event.source, { component: 'kubelet', host: 'n1' });
  t.is(first.event.involvedObject.fieldPath, 'spec.containers{app}');
  t.is(first.event.involvedObject.uid, 'uid-web');
});

test('a different fieldPath or message is a different Event', (t) => {
  const clock = new ManualClock(t0);
  const correlator = new EventCorrelator({ clock, component: 'kubelet', host: 'n1' });
  t.is(correlator.correlate({ involvedObject: ref, type: 'Normal', reason: 'Pulled', message: 'a' }).kind, 'create');
  t.is(
    correlator.correlate({
      involvedObject: { ...ref, fieldPath: 'spec.containers{other}' },
      type: 'Normal',
      reason: 'Pulled',
      message: 'a',
    }).kind,
    'create',
  );
  t.is(correlator.correlate({ involvedObject: ref, type: 'Normal', reason: 'Pulled', message: 'b' }).kind, 'create');
});

test('ten different messages of one reason within 10 minutes are combined into one Event', (t) => {
  const clock = new ManualClock(t0);
  const correlator = new EventCorrelator({ clock, component: 'kubelet', host: 'n1' });
  const results = Array.from({ length: 14 }, (_, i) =>
    correlator.correlate({ involvedObject: ref, type: 'Warning', reason: 'Unhealthy', message: `probe failed ${i}` }),
  );
  t.deepEqual(
    results.slice(0, 9).map((r) => r.kind),
    Array(9).fill('create'),
  );
  const combined = results.slice(9);
  t.is(combined[0]!.kind, 'create');
  t.deepEqual(
    combined.slice(1).map((r) => r.kind),
    ['patch', 'patch', 'patch', 'patch'],
  );
  const last = combined.at(-1)!;
  if (last.kind === 'drop') return t.fail();
  t.is(last.event.message, '(combined from similar events): probe failed 13');
  t.is(last.event.count, 5);
});

test('the spam filter lets 25 through per object, then one every 5 minutes', (t) => {
  const clock = new ManualClock(t0);
  const correlator = new EventCorrelator({ clock, component: 'kubelet', host: 'n1' });
  const send = () =>
    correlator.correlate({ involvedObject: ref, type: 'Warning', reason: 'BackOff', message: 'same' }).kind;
  const burst = Array.from({ length: 30 }, send);
  t.is(burst.filter((k) => k !== 'drop').length, 25);
  t.is(correlator.dropped, 5);
  clock.advance(299_000);
  t.is(send(), 'drop');
  clock.advance(1_000);
  t.is(send(), 'patch');
  t.is(send(), 'drop');
  // another pod has its own bucket
  t.is(
    correlator.correlate({
      involvedObject: podReference(pod({}, 'other')),
      type: 'Warning',
      reason: 'BackOff',
      message: 'same',
    }).kind,
    'create',
  );
});

test('the recorder writes in the background: one create, then patches; a crash loop makes one object', async (t) => {
  const clock = new ManualClock(t0);
  const sink = new FakeSink();
  const recorder = new EventRecorder({ sink, clock, log, component: 'kubelet', host: 'n1' });
  const events = podEvents(recorder);
  const p = pod();
  for (let i = 0; i < 40; i++) {
    events.backOff(p, 'app', 'CrashLoopBackOff', 'img');
    clock.advance(10_000);
    await recorder.flushed();
  }
  t.is(sink.stored.size, 1);
  const [event] = [...sink.stored.values()];
  t.is(event!.reason, 'BackOff');
  t.is(event!.message, 'Back-off restarting failed container app in pod web_default(uid-web)');
  // 25 at once, then one token back every 5 minutes: 400 s of crash looping let one more through
  t.is(event!.count, 26);
  t.is(recorder.droppedSpam, 14);
});

test('a queue bump of an unwritten event replaces it; a full queue drops the oldest', async (t) => {
  const clock = new ManualClock(t0);
  const sink = new FakeSink();
  const recorder = new EventRecorder({ sink, clock, log, component: 'kubelet', host: 'n1', queueLimit: 3 });
  for (let i = 0; i < 6; i++)
    recorder.event(podReference(pod({}, `p${i}`)), 'Normal', 'Started', 'Started container app');
  await recorder.flushed();
  // the first write started at once; of the five queued behind it, the two oldest were dropped
  t.is(recorder.droppedFull, 2);
  t.deepEqual([...sink.stored.values()].map((e) => e.involvedObject.name).sort(), ['p0', 'p3', 'p4', 'p5']);
});

test('a patch of an Event that is gone creates it again; refusals are not retried', async (t) => {
  const clock = new ManualClock(t0);
  const sink = new FakeSink();
  const recorder = new EventRecorder({ sink, clock, log, component: 'kubelet', host: 'n1' });
  recorder.event(ref, 'Normal', 'Pulled', 'x');
  await recorder.flushed();
  sink.stored.clear();
  recorder.event(ref, 'Normal', 'Pulled', 'x');
  await recorder.flushed();
  t.is(sink.stored.size, 1);
  t.is([...sink.stored.values()][0]!.count, 2);
  sink.failNext.push(new ApiError('Forbidden', 'no'));
  recorder.event(ref, 'Normal', 'Created', 'y');
  await recorder.flushed();
  t.is(recorder.failed, 1);
  t.deepEqual(sink.calls, ['create Pulled', 'patch Pulled 2', 'create Pulled', 'create Created']);
});
