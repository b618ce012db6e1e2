import test from 'ava';
import type { Pod } from '../../../../kube/corev1.ts';
import { judgePodFailure } from '../../../../controlplane/controllers/job/pod-failure-policy.ts';
import type { PodFailurePolicy } from '../../../../controlplane/controllers/workload-types.ts';

function failedPod(exits: Record<string, number>, conditions: string[] = [], init: Record<string, number> = {}): Pod {
  const statuses = (codes: Record<string, number>) =>
    Object.entries(codes).map(([name, exitCode]) => ({
      name,
      ready: false,
      restartCount: 0,
      image: 'busybox',
      imageID: '',
      state: { terminated: { exitCode } },
    }));
  return {
    metadata: { name: 'p', namespace: 'ns' },
    spec: { containers: [] },
    status: {
      phase: 'Failed',
      containerStatuses: statuses(exits),
      initContainerStatuses: statuses(init),
      conditions: conditions.map((type) => ({ type, status: 'True' })),
    },
  };
}

const policy: PodFailurePolicy = {
  rules: [
    { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
    { action: 'Ignore', onExitCodes: { operator: 'In', values: [42] } },
    { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'NotIn', values: [1, 2] } },
    { action: 'Count', onExitCodes: { operator: 'In', values: [1] } },
  ],
};

test('the first matching rule decides, with upstream message', (t) => {
  t.deepEqual(judgePodFailure(policy, failedPod({ main: 42 })), {
    action: 'Ignore',
    message: 'Container main for pod ns/p failed with exit code 42 matching Ignore rule at index 1',
  });
  t.deepEqual(judgePodFailure(policy, failedPod({ main: 7 })), {
    action: 'FailJob',
    message: 'Container main for pod ns/p failed with exit code 7 matching FailJob rule at index 2',
  });
  t.is(judgePodFailure(policy, failedPod({ main: 1 }))?.action, 'Count');
  t.deepEqual(judgePodFailure(policy, failedPod({ main: 1 }, ['DisruptionTarget'])), {
    action: 'Ignore',
    message: 'Pod ns/p has condition DisruptionTarget matching Ignore rule at index 0',
  });
});

test('exit code 0 never matches, containerName narrows, init containers count', (t) => {
  t.is(
    judgePodFailure(policy, failedPod({ main: 0, side: 2 })),
    undefined,
    'NotIn applies to main only; 2 is not listed',
  );
  t.is(judgePodFailure(policy, failedPod({ side: 7 })), undefined);
  t.is(judgePodFailure(policy, failedPod({ main: 0 }, [], { setup: 42 }))?.action, 'Ignore');
});

test('no policy, or a pod that did not fail: no verdict', (t) => {
  t.is(judgePodFailure(undefined, failedPod({ main: 42 })), undefined);
  const running = failedPod({ main: 42 });
  running.status!.phase = 'Running';
  t.is(judgePodFailure(policy, running), undefined);
});
