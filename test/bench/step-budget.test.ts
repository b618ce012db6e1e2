/**
 * The scale bench's sharing of a backend's time between steps: later joins are reserved first,
 * rollouts share the rest, and a step that ended early leaves its time to the next ones.
 */
import test from 'ava';
import { joinDeadline, rolloutDeadline, type StepBudget } from '../../bench/scale/step-budget.ts';

const s = 1000;
const base: StepBudget = {
  sizes: [100, 300, 1000],
  step: 0,
  now: 0,
  backendDeadline: 540 * s,
  joinRate: 5,
  overheadMs: 25 * s,
};

test('the first join may use all but what the later joins and overheads need', (t) => {
  // later: 200 nodes / 5 per s * 1.5 + 25 s, and 700 / 5 * 1.5 + 25 s; then this step's 25 s
  t.is(joinDeadline(base), 540 * s - (60 * s + 25 * s) - (210 * s + 25 * s) - 25 * s);
});

test('the last step keeps everything for its join and its rollout', (t) => {
  const last = { ...base, step: 2, now: 300 * s };
  t.is(joinDeadline(last), 515 * s);
  t.is(rolloutDeadline({ ...last, now: 400 * s }), 515 * s);
});

test('rollouts share the free time by the square root of the nodes each step adds', (t) => {
  const afterJoin = { ...base, now: 20 * s };
  const free = 540 * s - 20 * s - 320 * s - 25 * s;
  const weights = [Math.sqrt(100), Math.sqrt(200), Math.sqrt(700)];
  t.is(rolloutDeadline(afterJoin), 20 * s + (free * weights[0]!) / (weights[0]! + weights[1]! + weights[2]!));
});

test('a step that ended early leaves its time to the next ones', (t) => {
  const early = rolloutDeadline({ ...base, step: 1, now: 100 * s });
  const late = rolloutDeadline({ ...base, step: 1, now: 200 * s });
  t.true(early - 100 * s > late - 200 * s, 'a later start gets a shorter rollout');
});

test('with no time to spare the rollout gets none, and the join its own estimate within the share', (t) => {
  const squeezed = { ...base, now: 400 * s, backendDeadline: 460 * s };
  t.is(rolloutDeadline(squeezed), 400 * s);
  // 100 nodes at 5/s with the margin: 30 s, although the later steps would want more than is left
  t.is(joinDeadline(squeezed), 430 * s);
  // never past the share itself (less this step's overhead)
  t.is(joinDeadline({ ...squeezed, backendDeadline: 440 * s }), 415 * s);
});

test('a first guess far below the real rate still gives the first step its join', (t) => {
  // equal shares of a 14-minute run: 410 s; at 4 nodes/s the later joins seem to need 387.5 s and more
  const guessed = { ...base, backendDeadline: 410 * s, joinRate: 4 };
  t.is(joinDeadline(guessed), (100 / 4) * 1.5 * s);
});

test('a slower measured join reserves more for the later steps', (t) => {
  t.true(joinDeadline({ ...base, joinRate: 2 }) < joinDeadline(base));
});
