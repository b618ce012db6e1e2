/**
 * The system clock's timers: a wait longer than setTimeout can hold (2^31-1 ms) must not fire
 * early (Node would fire it after 1 ms, making any long wait a busy loop).
 */
import test from 'ava';
import { pause, systemClock } from '../../kube/clock.ts';

test('a wait of months does not fire early, and short waits still fire', async (t) => {
  let longFired = false;
  const long = systemClock.after(240 * 24 * 3600 * 1000, () => {
    longFired = true;
  });
  const fired = await new Promise<boolean>((resolve) => {
    systemClock.after(50, () => resolve(true));
  });
  t.true(fired);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.false(longFired, 'a 240-day timer fired within 100 ms');
  long.cancel();
});

/** 'ended' if `pending` settles within `withinMs`, else 'still waiting' (a generous bound, not a measurement). */
async function endsWithin(pending: Promise<void>, withinMs: number): Promise<'ended' | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const waiting = new Promise<'still waiting'>((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), withinMs);
  });
  try {
    return await Promise.race([pending.then(() => 'ended' as const), waiting]);
  } finally {
    clearTimeout(timer);
  }
}

test('pause ends after its time, or at once when its signal aborts', async (t) => {
  const started = Date.now();
  await pause(systemClock, 30, new AbortController().signal);
  t.true(Date.now() - started >= 25);
  // a 60 s pause that ends within 5 s ended because of its signal, however loaded the machine is
  const abort = new AbortController();
  const long = pause(systemClock, 60_000, abort.signal);
  abort.abort();
  t.is(await endsWithin(long, 5_000), 'ended', 'an abort during the pause ends it');
  const already = new AbortController();
  already.abort();
  t.is(await endsWithin(pause(systemClock, 60_000, already.signal), 5_000), 'ended', 'an aborted signal ends it');
});
