import test from 'ava';
import { SchedulingQueue } from '../../../controlplane/scheduler/queue.ts';
import { pod } from './fixtures.ts';

function clockAt(start: number) {
  const clock = { now: start };
  return { clock, reader: { now: () => clock.now } };
}

test('higher priority first, then arrival order', (t) => {
  const { reader } = clockAt(0);
  const queue = new SchedulingQueue({ clock: reader });
  const low = pod('low');
  const high = pod('high');
  high.spec.priority = 1000;
  queue.add(low);
  queue.add(pod('low-2'));
  queue.add(high);
  t.deepEqual(
    [queue.pop(), queue.pop(), queue.pop(), queue.pop()].map((p) => p?.metadata.name),
    ['high', 'low', 'low-2', undefined],
  );
});

test('an unschedulable pod waits for a cluster change and then its backoff', (t) => {
  const { clock, reader } = clockAt(1000);
  const queue = new SchedulingQueue({ clock: reader, initialBackoffMs: 100, maxBackoffMs: 400 });
  queue.parkUnschedulable(pod('p'));
  clock.now += 10_000;
  t.is(queue.pop(), undefined, 'time alone does not release it before 5 minutes');
  queue.clusterChanged();
  t.is(queue.pop()?.metadata.name, 'p', 'its 100 ms backoff has long passed');
  queue.parkUnschedulable(pod('p'));
  queue.clusterChanged();
  t.is(queue.pop(), undefined, 'the second attempt backs off 200 ms');
  t.is(queue.nextWakeAt(), clock.now + 200);
  clock.now += 200;
  t.is(queue.pop()?.metadata.name, 'p');
});

test('backoff doubles up to the maximum', (t) => {
  const { clock, reader } = clockAt(0);
  const queue = new SchedulingQueue({ clock: reader, initialBackoffMs: 100, maxBackoffMs: 300 });
  const waits: number[] = [];
  for (let i = 0; i < 4; i++) {
    queue.retryLater(pod('p'));
    waits.push(queue.nextWakeAt()! - clock.now);
    clock.now = queue.nextWakeAt()!;
    t.is(queue.pop()?.metadata.name, 'p');
  }
  t.deepEqual(waits, [100, 200, 300, 300]);
});

test('a spec change releases a parked pod at once; a status-only change does not', (t) => {
  const { reader } = clockAt(0);
  const queue = new SchedulingQueue({ clock: reader });
  const parked = pod('p');
  queue.parkUnschedulable(parked);
  queue.add({ ...parked, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] } });
  t.is(queue.pop(), undefined);
  queue.add({ ...parked, spec: { ...parked.spec, nodeSelector: { zone: 'b' } } });
  t.is(queue.pop()?.metadata.name, 'p');
});

test('pods parked for five minutes are retried even without events', (t) => {
  const { clock, reader } = clockAt(0);
  const queue = new SchedulingQueue({ clock: reader, initialBackoffMs: 100 });
  queue.parkUnschedulable(pod('p'));
  t.is(queue.nextWakeAt(), 5 * 60_000);
  clock.now = 5 * 60_000 - 1;
  t.is(queue.pop(), undefined);
  clock.now += 1;
  t.is(queue.pop()?.metadata.name, 'p', 'its backoff ran out long ago');
});
