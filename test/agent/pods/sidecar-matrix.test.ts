/**
 * Native sidecars (KEP-753) across every pod restartPolicy: start order, the startup gate, restarts
 * whatever the policy, completion not blocked by sidecars, readiness counted for the pod, and the
 * termination order (main containers, then sidecars in reverse spec order).
 */
import test from 'ava';
import type { RestartPolicy } from '../../../kube/corev1.ts';
import { planTermination } from '../../../agent/pods/termination-plan.ts';
import { computePodStatus } from '../../../agent/pods/pod-status.ts';
import { runPlan } from '../plan-helpers.ts';
import { c, observed, pod, seen, sec, sidecar, withPolicy } from '../fixtures.ts';

const policies: RestartPolicy[] = ['Always', 'OnFailure', 'Never'];

function podWith(policy: RestartPolicy) {
  return withPolicy(
    pod({
      initContainers: [
        sidecar('proxy', {
          startupProbe: { exec: { command: ['true'] } },
          readinessProbe: { exec: { command: ['true'] } },
        }),
        c('setup'),
        sidecar('logs'),
      ],
      containers: [c('app'), c('worker')],
    }),
    policy,
  );
}

for (const policy of policies) {
  const p = podWith(policy);
  const started = { started: true };

  test(`sidecar matrix (${policy}): the first sidecar starts alone`, (t) => {
    t.deepEqual(runPlan({ pod: p, observed: observed([]) }).actions, ['start sidecar proxy#0']);
  });

  test(`sidecar matrix (${policy}): the next init container waits until the sidecar's startupProbe passed`, (t) => {
    const obs = observed([seen(p, 'proxy', 'running')]);
    t.deepEqual(runPlan({ pod: p, observed: obs, health: { 'proxy-0-sb0': { started: false } } }).actions, []);
    t.deepEqual(runPlan({ pod: p, observed: obs, health: { 'proxy-0-sb0': started } }).actions, ['start init setup#0']);
  });

  test(`sidecar matrix (${policy}): a sidecar without startupProbe counts as started once running`, (t) => {
    const obs = observed([seen(p, 'proxy', 'running'), seen(p, 'setup', 'exited:0'), seen(p, 'logs', 'running')]);
    t.deepEqual(runPlan({ pod: p, observed: obs, health: { 'proxy-0-sb0': started } }).actions, [
      'start main app#0',
      'start main worker#0',
    ]);
  });

  test(`sidecar matrix (${policy}): a sidecar that exits during initialization is restarted before anything else`, (t) => {
    const obs = observed([seen(p, 'proxy', 'exited:1')]);
    t.deepEqual(runPlan({ pod: p, observed: obs }).actions, ['start sidecar proxy#1']);
  });

  test(`sidecar matrix (${policy}): a sidecar that exits beside running main containers is restarted`, (t) => {
    const obs = observed([
      seen(p, 'proxy', 'running'),
      seen(p, 'setup', 'exited:0'),
      seen(p, 'logs', 'exited:0'),
      seen(p, 'app', 'running'),
      seen(p, 'worker', 'running'),
    ]);
    t.deepEqual(runPlan({ pod: p, observed: obs, health: { 'proxy-0-sb0': started } }).actions, [
      'start sidecar logs#1',
    ]);
  });

  test(`sidecar matrix (${policy}): a sidecar whose startupProbe gave up is killed`, (t) => {
    const obs = observed([seen(p, 'proxy', 'running')]);
    const health = { 'proxy-0-sb0': { started: false, unhealthy: { probe: 'startup' as const, message: 'exit 1' } } };
    t.deepEqual(runPlan({ pod: p, observed: obs, health }).actions, ['kill proxy StartupProbeFailed']);
  });

  test(`sidecar matrix (${policy}): running sidecars do not keep the pod from completing`, (t) => {
    const obs = observed([
      seen(p, 'proxy', 'running'),
      seen(p, 'setup', 'exited:0'),
      seen(p, 'logs', 'running'),
      seen(p, 'app', 'exited:0'),
      seen(p, 'worker', 'exited:0'),
    ]);
    const { plan } = runPlan({ pod: p, observed: obs, health: { 'proxy-0-sb0': started } });
    t.is(plan.completed, policy !== 'Always', 'completion depends only on the main containers and the policy');
    if (policy === 'Always') t.deepEqual(plan.actions.length, 2, 'under Always the main containers restart');
  });

  test(`sidecar matrix (${policy}): sidecar readiness counts for pod readiness`, (t) => {
    const obs = observed([
      seen(p, 'proxy', 'running'),
      seen(p, 'setup', 'exited:0'),
      seen(p, 'logs', 'running'),
      seen(p, 'app', 'running'),
      seen(p, 'worker', 'running'),
    ]);
    const status = (proxyReady: boolean) =>
      computePodStatus({
        pod: p,
        observed: obs,
        probes: new Map([['proxy-0-sb0', { started: true, ready: proxyReady }]]),
        waiting: new Map(),
        nodeIP: '172.30.0.11',
        now: sec(5),
        previous: undefined,
        terminal: false,
        initFailed: false,
        runtimeName: 'containerd',
      });
    const ready = (s: ReturnType<typeof status>) => s.conditions?.find((x) => x.type === 'Ready')?.status;
    t.is(ready(status(true)), 'True');
    t.is(ready(status(false)), 'False');
    t.is(
      status(false).conditions?.find((x) => x.type === 'ContainersReady')?.message,
      'containers with unready status: [proxy]',
    );
  });

  test(`sidecar matrix (${policy}): termination stops main containers first, then sidecars in reverse order`, (t) => {
    let obs = observed([
      seen(p, 'proxy', 'running'),
      seen(p, 'setup', 'exited:0'),
      seen(p, 'logs', 'running'),
      seen(p, 'app', 'running'),
      seen(p, 'worker', 'running'),
    ]);
    const order: string[] = [];
    for (let round = 0; round < 6; round++) {
      const plan = planTermination({ pod: p, observed: obs, startedAt: sec(0), now: sec(round) });
      order.push(plan.step);
      if (plan.step === 'done') break;
      const stopped = new Set(plan.actions.map((a) => (a.kind === 'stopContainer' ? a.containerId : a.sandboxId)));
      obs = {
        sandboxes: obs.sandboxes.map((s) => (stopped.has(s.id) ? { ...s, ready: false } : s)),
        containers: obs.containers.map((x) =>
          stopped.has(x.id) ? { ...x, state: 'exited' as const, exitCode: 143 } : x,
        ),
      };
    }
    t.deepEqual(order, [
      'stopping main containers',
      'stopping sidecar logs',
      'stopping sidecar proxy',
      'stopping sandbox',
      'done',
    ]);
  });

  test(`sidecar matrix (${policy}): deleted during initialization, the init container stops before the sidecar`, (t) => {
    const obs = observed([seen(p, 'proxy', 'running'), seen(p, 'setup', 'running')]);
    const plan = planTermination({ pod: p, observed: obs, startedAt: sec(0), now: sec(0) });
    t.is(plan.step, 'stopping main containers');
    t.deepEqual(
      plan.actions.map((a) => (a.kind === 'stopContainer' ? a.name : a.sandboxId)),
      ['setup'],
    );
  });
}
