/** Pod status computation: phase, conditions, container states and their reasons. */
import test from 'ava';
import { computePodStatus, type StatusInput } from '../../../agent/pods/pod-status.ts';
import type { ContainerWait } from '../../../agent/pods/planner.ts';
import type { Pod, PodPhase, PodStatus } from '../../../kube/corev1.ts';
import type { ObservedPod } from '../../../agent/pods/observed.ts';
import { c, observed, pod, sandbox, seen, sec, sidecar, withPolicy } from '../fixtures.ts';

function status(
  p: Pod,
  obs: ObservedPod,
  extra: Partial<StatusInput> & { wait?: Record<string, ContainerWait> } = {},
): PodStatus {
  return computePodStatus({
    pod: p,
    observed: obs,
    probes: new Map(),
    waiting: new Map(Object.entries(extra.wait ?? {})),
    nodeIP: '172.30.0.11',
    now: sec(10),
    previous: undefined,
    terminal: false,
    initFailed: false,
    runtimeName: 'containerd',
    ...extra,
  });
}
const cond = (s: PodStatus, type: string) => s.conditions?.find((x) => x.type === type);

const single = pod();
const withInit = pod({ initContainers: [c('setup')], containers: [c('app')] });

const phases: {
  title: string;
  pod: Pod;
  observed: ObservedPod;
  terminal?: boolean;
  initFailed?: boolean;
  phase: PodPhase;
}[] = [
  { title: 'nothing started yet', pod: single, observed: observed([], []), phase: 'Pending' },
  {
    title: 'init container running',
    pod: withInit,
    observed: observed([seen(withInit, 'setup', 'running')]),
    phase: 'Pending',
  },
  {
    title: 'main container running',
    pod: single,
    observed: observed([seen(single, 'app', 'running')]),
    phase: 'Running',
  },
  {
    title: 'Always, exited and restarting',
    pod: single,
    observed: observed([seen(single, 'app', 'exited:1')]),
    phase: 'Running',
  },
  {
    title: 'OnFailure, exited 0',
    pod: withPolicy(single, 'OnFailure'),
    observed: observed([seen(single, 'app', 'exited:0')]),
    phase: 'Succeeded',
  },
  {
    title: 'OnFailure, exited 1 (will restart)',
    pod: withPolicy(single, 'OnFailure'),
    observed: observed([seen(single, 'app', 'exited:1')]),
    phase: 'Running',
  },
  {
    title: 'Never, exited 1',
    pod: withPolicy(single, 'Never'),
    observed: observed([seen(single, 'app', 'exited:1')]),
    phase: 'Failed',
  },
  {
    title: 'Never, init failed',
    pod: withPolicy(withInit, 'Never'),
    observed: observed([seen(withInit, 'setup', 'exited:1')]),
    initFailed: true,
    phase: 'Failed',
  },
  {
    title: 'stopped for deletion, killed by signal',
    pod: single,
    observed: observed([seen(single, 'app', 'exited:143')]),
    terminal: true,
    phase: 'Failed',
  },
  {
    title: 'stopped for deletion, exited 0',
    pod: single,
    observed: observed([seen(single, 'app', 'exited:0')]),
    terminal: true,
    phase: 'Succeeded',
  },
];
for (const row of phases) {
  test(`pod status phase: ${row.title} -> ${row.phase}`, (t) => {
    t.is(
      status(row.pod, row.observed, { terminal: row.terminal ?? false, initFailed: row.initFailed ?? false }).phase,
      row.phase,
    );
  });
}

test('pod status: conditions of a pod still initializing', (t) => {
  const s = status(withInit, observed([seen(withInit, 'setup', 'running')]));
  t.is(cond(s, 'PodScheduled')?.status, 'True');
  t.is(cond(s, 'PodReadyToStartContainers')?.status, 'True');
  t.is(cond(s, 'Initialized')?.status, 'False');
  t.is(cond(s, 'Initialized')?.reason, 'ContainersNotInitialized');
  t.is(cond(s, 'Initialized')?.message, 'containers with incomplete status: [setup]');
  t.is(cond(s, 'Ready')?.status, 'False');
  t.is(s.containerStatuses?.[0]?.state?.waiting?.reason, 'PodInitializing');
  t.is(s.initContainerStatuses?.[0]?.state?.running?.startedAt, '2026-01-01T12:00:01Z');
});

test('pod status: a ready pod, and Initialized True once its init container exited 0', (t) => {
  const s = status(withInit, observed([seen(withInit, 'setup', 'exited:0'), seen(withInit, 'app', 'running')]));
  t.is(cond(s, 'Initialized')?.status, 'True');
  t.is(cond(s, 'ContainersReady')?.status, 'True');
  t.is(cond(s, 'Ready')?.status, 'True');
  t.true(s.initContainerStatuses?.[0]?.ready, 'a completed init container reads ready');
  t.is(s.initContainerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
  t.is(s.podIP, '10.244.1.5');
  t.deepEqual(s.hostIPs, [{ ip: '172.30.0.11' }]);
  t.is(s.qosClass, 'BestEffort');
  t.is(s.containerStatuses?.[0]?.containerID, 'containerd://app-0-sb0');
  t.true(s.containerStatuses?.[0]?.started);
});

test('pod status: a readiness probe that has not passed keeps the pod unready', (t) => {
  const p = pod({ containers: [c('app', { readinessProbe: { httpGet: { port: 8080 } } })] });
  const obs = observed([seen(p, 'app', 'running')]);
  t.is(cond(status(p, obs), 'Ready')?.status, 'False');
  t.is(
    cond(status(p, obs, { probes: new Map([['app-0-sb0', { started: true, ready: true }]]) }), 'Ready')?.status,
    'True',
  );
});

test('pod status: readiness gates must be True for Ready', (t) => {
  const p = pod({ readinessGates: [{ conditionType: 'example.com/lb' }] });
  const obs = observed([seen(p, 'app', 'running')]);
  const missing = status(p, obs);
  t.is(cond(missing, 'ContainersReady')?.status, 'True');
  t.is(cond(missing, 'Ready')?.status, 'False');
  t.is(cond(missing, 'Ready')?.reason, 'ReadinessGatesNotReady');
  const previous: PodStatus = { conditions: [{ type: 'example.com/lb', status: 'True' }] };
  const gated = status(p, obs, { previous });
  t.is(cond(gated, 'Ready')?.status, 'True');
  t.is(cond(gated, 'example.com/lb')?.status, 'True', 'the gate condition passes through');
});

test('pod status: a crash-looping container waits with lastState terminated', (t) => {
  const obs = observed([
    seen(single, 'app', 'exited:1', { attempt: 3 }),
    seen(single, 'app', 'exited:1', { attempt: 2 }),
  ]);
  const s = status(single, obs, { wait: { app: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } } });
  const app = s.containerStatuses![0]!;
  t.is(app.state?.waiting?.reason, 'CrashLoopBackOff');
  t.is(app.lastState?.terminated?.exitCode, 1);
  t.is(app.lastState?.terminated?.reason, 'Error');
  t.is(app.restartCount, 3);
  t.false(app.ready);
});

test('pod status: OOMKilled is reported as the runtime says', (t) => {
  const s = status(withPolicy(single, 'Never'), observed([seen(single, 'app', 'exited:137', { reason: 'OOMKilled' })]));
  t.is(s.containerStatuses?.[0]?.state?.terminated?.reason, 'OOMKilled');
});

test('pod status: image pull failures show ErrImagePull, then ImagePullBackOff', (t) => {
  for (const reason of ['ErrImagePull', 'ImagePullBackOff']) {
    const s = status(single, observed([]), { wait: { app: { reason, message: 'pull failed' } } });
    t.is(s.containerStatuses?.[0]?.state?.waiting?.reason, reason);
    t.is(s.containerStatuses?.[0]?.state?.waiting?.message, 'pull failed');
  }
});

test('pod status: a condition keeps its transition time while its status stays the same', (t) => {
  const obs = observed([seen(single, 'app', 'running')]);
  const first = status(single, obs, { now: sec(10) });
  const second = status(single, obs, { now: sec(20), previous: first });
  t.is(cond(second, 'Ready')?.lastTransitionTime, cond(first, 'Ready')?.lastTransitionTime);
  t.is(second.startTime, first.startTime);
  const third = status(single, observed([seen(single, 'app', 'exited:1')]), {
    now: sec(30),
    previous: second,
    wait: { app: { reason: 'CrashLoopBackOff', message: '' } },
  });
  t.is(cond(third, 'Ready')?.lastTransitionTime, '2026-01-01T12:00:30Z');
});

test('pod status: a sidecar is reported among init containers with started and ready', (t) => {
  const p = pod({ initContainers: [sidecar('proxy')], containers: [c('app')] });
  const s = status(p, observed([seen(p, 'proxy', 'running'), seen(p, 'app', 'running')]));
  t.true(s.initContainerStatuses?.[0]?.started);
  t.true(s.initContainerStatuses?.[0]?.ready);
  t.is(cond(s, 'Ready')?.status, 'True');
});

test('pod status: the pod shows the termination step it waits on', (t) => {
  const s = status(single, observed([seen(single, 'app', 'running')]), {
    termination: { step: 'stopping main containers', deadline: sec(40) },
  });
  t.is(s.message, 'terminating: stopping main containers (deadline 2026-01-01T12:00:40Z)');
});

test('pod status: a pod whose sandbox is gone is not ready to start containers', (t) => {
  const s = status(single, observed([], [sandbox(0, { ready: false })]));
  t.is(cond(s, 'PodReadyToStartContainers')?.status, 'False');
});

test('pod status: ephemeral containers are reported apart, never ready, and stay Terminated once they exit', (t) => {
  const debugged = pod({
    containers: [c('app')],
    ephemeralContainers: [{ ...c('debugger'), targetContainerName: 'app' }],
  });
  const waiting = status(debugged, observed([seen(debugged, 'app', 'running')]));
  t.deepEqual(
    waiting.ephemeralContainerStatuses?.map((x) => [x.name, x.state?.waiting?.reason]),
    [['debugger', 'ContainerCreating']],
  );
  t.is(waiting.containerStatuses?.length, 1, 'not among the main containers');

  const running = status(debugged, observed([seen(debugged, 'app', 'running'), seen(debugged, 'debugger', 'running')]));
  const shown = running.ephemeralContainerStatuses![0]!;
  t.like(shown, {
    name: 'debugger',
    ready: false,
    restartCount: 0,
    image: 'localhost/bosun/busybox:1.35',
    containerID: 'containerd://debugger-0-sb0',
  });
  t.truthy(shown.state?.running);
  t.is(cond(running, 'Ready')?.status, 'True', 'an ephemeral container does not hold the pod back');

  const exited = status(debugged, observed([seen(debugged, 'app', 'running'), seen(debugged, 'debugger', 'exited:0')]));
  t.like(exited.ephemeralContainerStatuses![0]!.state?.terminated, {
    exitCode: 0,
    reason: 'Completed',
    containerID: 'containerd://debugger-0-sb0',
  });
  t.is(exited.phase, 'Running');
  t.is(status(single, observed([seen(single, 'app', 'running')])).ephemeralContainerStatuses, undefined);
});

test("pod status: a pod the node stopped on its own is Failed with the stop's reason and message", (t) => {
  const running = observed([seen(single, 'app', 'running')]);
  const message = 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. ';
  const evicted = status(single, running, { stoppedByNode: { reason: 'Evicted', message } });
  t.like(evicted, { phase: 'Failed', reason: 'Evicted', message });
  const plain = status(single, running);
  t.deepEqual(evicted.conditions, plain.conditions, 'the conditions are what the containers show');
  t.deepEqual(evicted.containerStatuses, plain.containerStatuses);
});
