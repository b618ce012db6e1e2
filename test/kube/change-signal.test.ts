/** Waits that end on a state change, not on a timer: resolved by the change itself, bounded by a deadline. */
import test from 'ava';
import { ChangeSignal } from '../../kube/change-signal.ts';
import { ManualClock } from '../agent/manual-clock.ts';

test('until() resolves on the change that makes its test hold, with no time passing', async (t) => {
  const clock = new ManualClock(0);
  const signal = new ChangeSignal();
  let state = 'running';
  let resolved: boolean | undefined;
  void signal
    .until(() => state === 'stopped', { clock, ms: 30_000 })
    .then((held) => {
      resolved = held;
    });
  state = 'stopping';
  signal.changed();
  await Promise.resolve();
  t.is(resolved, undefined, 'a change that does not meet the test resolves nothing');
  state = 'stopped';
  signal.changed();
  await Promise.resolve();
  t.true(resolved);
  t.is(clock.pending, 0, 'the deadline timer is cancelled once the test holds');
  t.is(signal.waiting, 0);
});

test('until() resolves false at its deadline and forgets the waiter; a test that already holds resolves at once', async (t) => {
  const clock = new ManualClock(0);
  const signal = new ChangeSignal();
  const late = signal.until(() => false, { clock, ms: 1_000 });
  clock.advance(999);
  t.is(signal.waiting, 1);
  clock.advance(1);
  t.false(await late);
  t.is(signal.waiting, 0);
  t.true(await signal.until(() => true, { clock, ms: 1_000 }));
  t.false(await signal.until(() => false, { clock, ms: 0 }));
  t.is(clock.pending, 0);
});
