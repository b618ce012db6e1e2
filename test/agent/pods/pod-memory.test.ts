/**
 * The pod worker's memory as a pure input of the planner: each action's result goes through the
 * failure policy, and the next plan reads what it left (start backoffs, the free sandbox attempt,
 * crash-loop records, a stop the node asked for). No runtime, no clock.
 */
import test from 'ava';
import type { ActionResult } from '../../../agent/pods/pod-executor.ts';
import {
  afterAction,
  afterPlan,
  freshMemory,
  madeProgress,
  mustStop,
  podToSync,
  type PodMemory,
} from '../../../agent/pods/pod-memory.ts';
import type { PodAction } from '../../../agent/pods/planner.ts';
import { planTermination } from '../../../agent/pods/termination-plan.ts';
import { c, observed, pod, sandbox, seen, sec } from '../fixtures.ts';
import { runPlan } from '../plan-helpers.ts';

const ok: ActionResult = { ok: true };
const failed = (action: PodAction, reason: string, message: string): ActionResult => ({
  ok: false,
  action,
  reason,
  message,
});
const startApp: PodAction = { kind: 'startContainer', role: 'main', index: 0, name: 'app', attempt: 0 };
const startSetup: PodAction = { kind: 'startContainer', role: 'init', index: 0, name: 'setup', attempt: 0 };

/** The planner's view of a memory, as the worker passes it. */
const planWith = (memory: PodMemory, row: Omit<Parameters<typeof runPlan>[0], 'startFailures'>) =>
  runPlan({ ...row, startFailures: Object.fromEntries(memory.startFailures) });

test('a failed pull backs the container off 10 s, shows ErrImagePull and goes on; the planner then waits, then retries', (t) => {
  const p = pod();
  const outcome = afterAction(freshMemory, startApp, failed(startApp, 'ErrImagePull', 'not found'), sec(3));
  t.false(outcome.halt, 'a main container does not hold the rest of the plan');
  t.deepEqual(outcome.wait, { container: 'app', wait: { reason: 'ErrImagePull', message: 'not found' } });
  t.deepEqual(outcome.event, { kind: 'startFailed', container: 'app', reason: 'ErrImagePull', message: 'not found' });
  const during = planWith(outcome.memory, { pod: p, observed: observed([]), now: sec(12) });
  t.deepEqual(during.actions, []);
  t.deepEqual(during.waiting, { app: 'ImagePullBackOff' });
  t.is(during.plan.wakeAt, sec(13), 'the worker is woken when the backoff ends');
  t.deepEqual(planWith(outcome.memory, { pod: p, observed: observed([]), now: sec(13) }).actions, ['start main app#0']);
  const again = afterAction(outcome.memory, startApp, failed(startApp, 'ErrImagePull', 'not found'), sec(13));
  t.is(again.memory.startFailures.get('app')?.delayMs, 20_000, 'a second failure doubles the backoff');
  t.false(afterAction(again.memory, startApp, ok, sec(40)).memory.startFailures.has('app'), 'a start clears it');
});

test('a failed init container start holds the rest of the plan, as the init sequence is ordered', (t) => {
  const outcome = afterAction(freshMemory, startSetup, failed(startSetup, 'CreateContainerConfigError', 'no key'), 0);
  t.true(outcome.halt);
  t.is(outcome.wait?.wait.reason, 'CreateContainerConfigError');
});

test('a failed RunPodSandbox holds the plan, records FailedCreatePodSandBox and the next plan takes the next attempt', (t) => {
  const create: PodAction = { kind: 'createSandbox', attempt: 0, reason: 'no sandbox yet' };
  const outcome = afterAction(freshMemory, create, failed(create, 'FailedCreatePodSandBox', 'CNI timed out'), 0);
  t.true(outcome.halt);
  t.deepEqual(outcome.event, { kind: 'sandboxFailed', message: 'CNI timed out' });
  t.is(outcome.wait, undefined);
  t.is(outcome.memory.sandboxAttemptFloor, 1);
  const next = (memory: PodMemory) =>
    runPlan({ pod: pod(), observed: observed([], []), sandboxAttemptFloor: memory.sandboxAttemptFloor }).actions;
  t.deepEqual(next(freshMemory), ['sandbox#0']);
  t.deepEqual(next(outcome.memory), ['sandbox#1'], 'not the name the failed attempt may still hold');
});

test('any other failed action changes nothing: the next plan sees the runtime as it is; the sync made no progress', (t) => {
  const kill: PodAction = {
    kind: 'killContainer',
    containerId: 'app-0-sb0',
    name: 'app',
    reason: 'SpecChanged',
    message: 'container app definition changed, will be restarted',
    graceSeconds: 30,
  };
  const outcome = afterAction(freshMemory, kill, failed(kill, 'BOSUN_CRI_UNAVAILABLE', 'connection refused'), 0);
  t.is(outcome.memory, freshMemory);
  t.false(outcome.halt);
  t.is(outcome.event, undefined);
  t.false(madeProgress([ok, failed(kill, 'Error', 'x')]));
  t.false(madeProgress([]), 'nothing run is no progress');
  t.true(madeProgress([ok, ok]));
});

test('a plan records the crash-loop entries of the restarts it plans, and why the pod finished', (t) => {
  const p = pod();
  const { plan } = runPlan({ pod: p, observed: observed([seen(p, 'app', 'exited:1')]), now: sec(5) });
  const memory = afterPlan(freshMemory, plan);
  t.deepEqual(memory.crashLoops.get('app'), { delayMs: 10_000, lastExitAt: sec(2) });
  const init = pod({ initContainers: [c('setup')], containers: [c('app')], restartPolicy: 'Never' });
  const failedInit = runPlan({ pod: init, observed: observed([seen(init, 'setup', 'exited:1')]) });
  t.true(afterPlan(freshMemory, failedInit.plan).initFailed);
});

test('a stop the node asks for stops the pod with its own grace, without deleting it', (t) => {
  const p = pod({ terminationGracePeriodSeconds: 30 });
  t.false(mustStop(p, freshMemory));
  t.is(podToSync(p, freshMemory), p);
  const memory: PodMemory = {
    ...freshMemory,
    nodeStop: { reason: 'Terminated', message: 'shutdown', graceSeconds: 6 },
  };
  t.true(mustStop(p, memory));
  const stopping = podToSync(p, memory);
  t.is(stopping.metadata.deletionTimestamp, undefined);
  const plan = planTermination({
    pod: stopping,
    observed: observed([seen(p, 'app', 'running')], [sandbox()]),
    startedAt: sec(10),
    now: sec(10),
  });
  t.is(plan.actions[0]?.kind === 'stopContainer' ? plan.actions[0].graceSeconds : undefined, 6);
});
