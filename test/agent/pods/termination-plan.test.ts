/** The termination plan: grace accounting, preStop hooks, per-step deadlines and escalation. */
import test from 'ava';
import { planTermination } from '../../../agent/pods/termination-plan.ts';
import { c, observed, pod, sandbox, seen, sec, sidecar } from '../fixtures.ts';

const p = pod({
  terminationGracePeriodSeconds: 20,
  initContainers: [sidecar('proxy', { lifecycle: { preStop: { exec: { command: ['drain'] } } } })],
  containers: [c('app', { lifecycle: { preStop: { httpGet: { port: 8080, path: '/quit' } } } }), c('worker')],
});
const running = observed([seen(p, 'proxy', 'running'), seen(p, 'app', 'running'), seen(p, 'worker', 'running')]);

test('termination: main containers stop together, with their preStop hooks and the whole grace period', (t) => {
  const plan = planTermination({ pod: p, observed: running, startedAt: sec(0), now: sec(0) });
  t.is(plan.step, 'stopping main containers');
  t.deepEqual(
    plan.actions.map((a) => a.kind === 'stopContainer' && [a.name, a.graceSeconds, a.preStop !== undefined]),
    [
      ['app', 20, true],
      ['worker', 20, false],
    ],
  );
  t.is(plan.deadline, sec(20));
});

test('termination: a sidecar gets what is left of the grace, but never less than 2 s', (t) => {
  const mainsDone = observed([
    seen(p, 'proxy', 'running'),
    seen(p, 'app', 'exited:143'),
    seen(p, 'worker', 'exited:143'),
  ]);
  const early = planTermination({ pod: p, observed: mainsDone, startedAt: sec(0), now: sec(5) });
  t.is(early.step, 'stopping sidecar proxy');
  t.is(early.actions[0]?.kind === 'stopContainer' && early.actions[0].graceSeconds, 15);
  const late = planTermination({ pod: p, observed: mainsDone, startedAt: sec(0), now: sec(40) });
  t.is(late.actions[0]?.kind === 'stopContainer' && late.actions[0].graceSeconds, 2);
});

test('termination: a deletion grace period overrides the spec', (t) => {
  const deleted = {
    ...p,
    metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T12:00:00Z', deletionGracePeriodSeconds: 5 },
  };
  const plan = planTermination({ pod: deleted, observed: running, startedAt: sec(0), now: sec(0) });
  t.is(plan.actions[0]?.kind === 'stopContainer' && plan.actions[0].graceSeconds, 5);
});

test('termination: a step still there past its deadline is escalated to an immediate kill without hooks', (t) => {
  const first = planTermination({ pod: p, observed: running, startedAt: sec(0), now: sec(0) });
  const stillWithin = planTermination({
    pod: p,
    observed: running,
    startedAt: sec(0),
    now: sec(22),
    previousStep: { name: first.step, since: sec(0), deadline: first.deadline },
  });
  t.false(stillWithin.escalated);
  t.is(stillWithin.deadline, first.deadline, 'the step keeps its deadline');
  const overdue = planTermination({
    pod: p,
    observed: running,
    startedAt: sec(0),
    now: sec(26),
    previousStep: { name: first.step, since: sec(0), deadline: first.deadline },
  });
  t.true(overdue.escalated);
  t.deepEqual(
    overdue.actions.map((a) => a.kind === 'stopContainer' && [a.graceSeconds, a.preStop]),
    [
      [0, undefined],
      [0, undefined],
    ],
  );
});

test('termination: then the sandbox, then done', (t) => {
  const allExited = observed([seen(p, 'proxy', 'exited:0'), seen(p, 'app', 'exited:0'), seen(p, 'worker', 'exited:0')]);
  const plan = planTermination({ pod: p, observed: allExited, startedAt: sec(0), now: sec(3) });
  t.is(plan.step, 'stopping sandbox');
  t.deepEqual(plan.actions, [{ kind: 'stopSandbox', sandboxId: 'sb0' }]);
  const done = planTermination({
    pod: p,
    observed: observed(allExited.containers, [sandbox(0, { ready: false })]),
    startedAt: sec(0),
    now: sec(3),
  });
  t.is(done.step, 'done');
});

test('termination: a container left in Created is stopped too, without a hook', (t) => {
  const plan = planTermination({
    pod: p,
    observed: observed([seen(p, 'app', 'created')]),
    startedAt: sec(0),
    now: sec(0),
  });
  t.deepEqual(
    plan.actions.map((a) => a.kind === 'stopContainer' && [a.name, a.preStop]),
    [['app', undefined]],
  );
});

test('termination: a running ephemeral container stops with the main containers, before the sidecars', (t) => {
  const debugged = {
    ...p,
    spec: { ...p.spec, ephemeralContainers: [{ ...c('debugger'), targetContainerName: 'app' }] },
  };
  const plan = planTermination({
    pod: debugged,
    observed: observed([...running.containers, seen(debugged, 'debugger', 'running')]),
    startedAt: sec(0),
    now: sec(0),
  });
  t.is(plan.step, 'stopping main containers');
  t.deepEqual(
    plan.actions.map((a) => a.kind === 'stopContainer' && [a.name, a.role]),
    [
      ['app', 'main'],
      ['worker', 'main'],
      ['debugger', 'ephemeral'],
    ],
  );
});
