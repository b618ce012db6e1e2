/**
 * The pod planner, table-driven: each row is a pod, what the runtime shows, and the actions
 * (written as short strings) and waiting reasons the planner must produce.
 */
import test from 'ava';
import { runPlan, type PlanRow } from '../plan-helpers.ts';
import type { Pod } from '../../../kube/corev1.ts';
import { c, observed, pod, sandbox, seen, sec, withPolicy } from '../fixtures.ts';
import type { ObservedContainer, ObservedSandbox } from '../../../agent/pods/observed.ts';

interface Row extends PlanRow {
  title: string;
  actions: string[];
  waiting?: Record<string, string>;
  completed?: boolean;
}

const withInits = pod({ initContainers: [c('setup'), c('migrate')], containers: [c('app')] });
const never = (p: Pod) => withPolicy(p, 'Never');
const onFailure = (p: Pod) => withPolicy(p, 'OnFailure');
const single = pod();
const live = pod({ containers: [c('app', { livenessProbe: { exec: { command: ['true'] } } })] });
/** What `kubectl debug --target=app` adds to a running pod. */
const debugger_ = { ...c('debugger', { stdin: true, tty: true }), targetContainerName: 'app' };
const debugged = pod({ containers: [c('app')], ephemeralContainers: [debugger_] });
const debuggedInit = pod({ initContainers: [c('setup')], containers: [c('app')], ephemeralContainers: [debugger_] });

const rows: Row[] = [
  { title: 'a new pod gets sandbox attempt 0 first', pod: single, observed: observed([], []), actions: ['sandbox#0'] },
  {
    title: 'a sandbox that died is replaced with the next attempt after everything is stopped',
    pod: single,
    observed: observed([seen(single, 'app', 'running')], [sandbox(0, { ready: false })]),
    actions: ['kill pod', 'sandbox#1'],
  },
  {
    title: 'a sandbox without an IP is not usable outside host network',
    pod: single,
    observed: observed([], [sandbox(0, { ip: '' })]),
    actions: ['kill pod', 'sandbox#1'],
  },
  {
    title: 'host network pods need no pod IP',
    pod: pod({ hostNetwork: true }),
    observed: observed([], [sandbox(0, { ip: '' })]),
    actions: ['start main app#0'],
  },
  {
    title: 'restartPolicy Never: a pod whose containers ran gets no new sandbox',
    pod: never(single),
    observed: observed([seen(single, 'app', 'exited:137')], [sandbox(0, { ready: false })]),
    actions: [],
    completed: true,
  },
  {
    title: 'init containers start first, one at a time',
    pod: withInits,
    observed: observed([]),
    actions: ['start init setup#0'],
  },
  {
    title: 'the next init container waits for the running one',
    pod: withInits,
    observed: observed([seen(withInits, 'setup', 'running')]),
    actions: [],
  },
  {
    title: 'the next init container starts once the previous exited 0',
    pod: withInits,
    observed: observed([seen(withInits, 'setup', 'exited:0')]),
    actions: ['start init migrate#0'],
  },
  {
    title: 'main containers start once every init container exited 0',
    pod: withInits,
    observed: observed([seen(withInits, 'setup', 'exited:0'), seen(withInits, 'migrate', 'exited:0')]),
    actions: ['start main app#0'],
  },
  {
    title: 'a failed init container restarts (policy Always) with the next attempt number',
    pod: withInits,
    observed: observed([seen(withInits, 'setup', 'exited:1')]),
    actions: ['start init setup#1'],
  },
  {
    title: 'a failed init container under restartPolicy Never fails the pod',
    pod: never(withInits),
    observed: observed([seen(withInits, 'setup', 'exited:1')]),
    actions: [],
    completed: true,
  },
  {
    title: 'init containers do not run again once main containers exist',
    pod: withInits,
    observed: observed([seen(withInits, 'setup', 'exited:1'), seen(withInits, 'app', 'running')]),
    actions: [],
  },
  {
    title: 'policy Always: an exited main container restarts (first restart immediately)',
    pod: single,
    observed: observed([seen(single, 'app', 'exited:0')]),
    actions: ['start main app#1'],
  },
  {
    title: 'policy OnFailure: exit 0 is final, the pod completes',
    pod: onFailure(single),
    observed: observed([seen(single, 'app', 'exited:0')]),
    actions: [],
    completed: true,
  },
  {
    title: 'policy OnFailure: a failure restarts',
    pod: onFailure(single),
    observed: observed([seen(single, 'app', 'exited:2')]),
    actions: ['start main app#1'],
  },
  {
    title: 'policy Never: a failure is final',
    pod: never(single),
    observed: observed([seen(single, 'app', 'exited:2')]),
    actions: [],
    completed: true,
  },
  {
    title: 'a crash loop waits out its backoff and says CrashLoopBackOff',
    pod: single,
    observed: observed([seen(single, 'app', 'exited:1', { attempt: 2, finishedAtS: 3 })]),
    crashLoops: { app: { delayMs: 20_000, lastExitAt: sec(-10) } },
    now: sec(10),
    actions: [],
    waiting: { app: 'CrashLoopBackOff' },
  },
  {
    title: 'after the backoff the crash-looping container restarts',
    pod: single,
    observed: observed([seen(single, 'app', 'exited:1', { attempt: 2, finishedAtS: 3 })]),
    crashLoops: { app: { delayMs: 20_000, lastExitAt: sec(-10) } },
    now: sec(23),
    actions: ['start main app#3'],
  },
  {
    title: 'a failed image pull holds the container back as ImagePullBackOff',
    pod: single,
    observed: observed([]),
    startFailures: { app: { reason: 'ErrImagePull', message: 'not found', at: sec(1), delayMs: 10_000 } },
    now: sec(5),
    actions: [],
    waiting: { app: 'ImagePullBackOff' },
  },
  {
    title: 'after the pull backoff the start is tried again',
    pod: single,
    observed: observed([]),
    startFailures: { app: { reason: 'ErrImagePull', message: 'not found', at: sec(1), delayMs: 10_000 } },
    now: sec(12),
    actions: ['start main app#0'],
  },
  {
    title: 'a failed liveness probe kills the container',
    pod: live,
    observed: observed([seen(live, 'app', 'running')]),
    health: { 'app-0-sb0': { started: true, unhealthy: { probe: 'liveness', message: 'exit 1' } } },
    actions: ['kill app LivenessProbeFailed'],
  },
  {
    title: 'a changed spec (new image) replaces the running container',
    pod: single,
    observed: observed([seen(single, 'app', 'running', { specHash: 'v1.0000000000000000' })]),
    actions: ['kill app SpecChanged'],
  },
  {
    title: 'a hash of a version this agent does not know is left alone',
    pod: single,
    observed: observed([seen(single, 'app', 'running', { specHash: 'v9.0000000000000000' })]),
    actions: [],
  },
  {
    title: 'a container left in Created is removed and the same attempt started again',
    pod: single,
    observed: observed([seen(single, 'app', 'created', { attempt: 1 })]),
    actions: ['remove app-1-sb0', 'start main app#1'],
  },
  {
    title: 'a container in Unknown state is killed',
    pod: single,
    observed: observed([seen(single, 'app', 'unknown')]),
    actions: ['kill app UnknownState'],
  },
  {
    title: 'a healthy running pod needs nothing',
    pod: withInits,
    observed: observed([
      seen(withInits, 'setup', 'exited:0'),
      seen(withInits, 'migrate', 'exited:0'),
      seen(withInits, 'app', 'running'),
    ]),
    actions: [],
  },
  {
    title: 'only the two newest attempts of a container are kept',
    pod: single,
    observed: observed([
      seen(single, 'app', 'running', { attempt: 3 }),
      seen(single, 'app', 'exited:1', { attempt: 2 }),
      seen(single, 'app', 'exited:1', { attempt: 1 }),
      seen(single, 'app', 'exited:1', { attempt: 0 }),
    ]),
    actions: ['remove app-1-sb0', 'remove app-0-sb0'],
  },
  {
    title: 'containers of a replaced sandbox count for the attempt number',
    pod: single,
    observed: observed(
      [seen(single, 'app', 'exited:137', { attempt: 4, sandboxId: 'sb0' })],
      [sandbox(1, { id: 'sb1' }), sandbox(0, { ready: false })],
    ),
    actions: ['remove sandbox sb0', 'start main app#5'],
  },
  {
    title: 'an ephemeral container added to a running pod is created and started',
    pod: debugged,
    observed: observed([seen(debugged, 'app', 'running')]),
    actions: ['start ephemeral debugger#0'],
  },
  {
    title: 'an ephemeral container starts while an init container still runs',
    pod: debuggedInit,
    observed: observed([seen(debuggedInit, 'setup', 'running')]),
    actions: ['start ephemeral debugger#0'],
  },
  {
    title: 'an ephemeral container left in Created (a start cut short) is removed and started again',
    pod: debugged,
    observed: observed([seen(debugged, 'app', 'running'), seen(debugged, 'debugger', 'created')]),
    actions: ['remove debugger-0-sb0', 'start ephemeral debugger#0'],
  },
  {
    title: 'a failed start of an ephemeral container waits out its backoff',
    pod: debugged,
    observed: observed([seen(debugged, 'app', 'running')]),
    startFailures: { debugger: { reason: 'ErrImagePull', message: 'not found', at: sec(1), delayMs: 10_000 } },
    now: sec(5),
    actions: [],
    waiting: { debugger: 'ImagePullBackOff' },
  },
];

for (const row of rows) {
  test(`planner: ${row.title}`, (t) => {
    const { plan, actions, waiting } = runPlan(row);
    t.deepEqual(actions, row.actions);
    t.deepEqual(waiting, row.waiting ?? {});
    t.is(plan.completed, row.completed ?? false);
  });
}

test('planner: a planned restart hands back the crash-loop record to store', (t) => {
  const { plan } = runPlan({ pod: single, observed: observed([seen(single, 'app', 'exited:1', { finishedAtS: 3 })]) });
  t.deepEqual(plan.crashLoopUpdates.get('app'), { delayMs: 10_000, lastExitAt: sec(3) });
});

test('planner: a backoff sets the time to plan again', (t) => {
  const { plan } = runPlan({
    pod: single,
    observed: observed([seen(single, 'app', 'exited:1', { finishedAtS: 3 })]),
    crashLoops: { app: { delayMs: 40_000, lastExitAt: sec(-30) } },
    now: sec(4),
  });
  t.is(plan.wakeAt, sec(43));
});

test('planner: an ephemeral container is started once and never again, in this sandbox or a later one', (t) => {
  const app = seen(debugged, 'app', 'running');
  const steps: [string, Pod, ObservedContainer[], ObservedSandbox[] | undefined, string[]][] = [
    ['added', debugged, [app], undefined, ['start ephemeral debugger#0']],
    [
      'running (also when found in the runtime after an agent restart)',
      debugged,
      [app, seen(debugged, 'debugger', 'running')],
      undefined,
      [],
    ],
    ['exited 0', debugged, [app, seen(debugged, 'debugger', 'exited:0')], undefined, []],
    ['failed, under OnFailure', onFailure(debugged), [app, seen(debugged, 'debugger', 'exited:137')], undefined, []],
    [
      'ran in a sandbox since replaced',
      debugged,
      [seen(debugged, 'app', 'exited:137'), seen(debugged, 'debugger', 'exited:137')],
      [sandbox(1, { id: 'sb1' }), sandbox(0, { ready: false })],
      ['remove sandbox sb0', 'start main app#1'],
    ],
  ];
  for (const [what, p, containers, sandboxes, actions] of steps) {
    t.deepEqual(runPlan({ pod: p, observed: observed(containers, sandboxes) }).actions, actions, what);
  }
});
