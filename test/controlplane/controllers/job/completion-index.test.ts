import test from 'ava';
import type { Pod } from '../../../../kube/corev1.ts';
import {
  completionIndexOf,
  formatIndexes,
  indexesToStart,
  parseIndexes,
  podForIndex,
} from '../../../../controlplane/controllers/job/completion-index.ts';

const key = 'batch.kubernetes.io/job-completion-index';

test('index sets are written sorted with consecutive runs as ranges, and read back', (t) => {
  t.is(formatIndexes([5, 1, 3, 4, 0]), '0-1,3-5');
  t.is(formatIndexes([7]), '7');
  t.is(formatIndexes([]), '');
  t.deepEqual([...parseIndexes('0-1,3-5', 10)].sort(), [0, 1, 3, 4, 5]);
  t.deepEqual([...parseIndexes('2,8-12', 10)].sort(), [2, 8, 9], 'indexes past completions are dropped');
  t.deepEqual([...parseIndexes('x,-1,3', 10)], [3], 'malformed parts name nothing');
});

test('a pod index comes from its annotation and must lie below completions', (t) => {
  const pod = (value: string): Pod => ({
    metadata: { name: 'p', annotations: { [key]: value } },
    spec: { containers: [] },
  });
  t.is(completionIndexOf(pod('3'), 5), 3);
  t.is(completionIndexOf(pod('5'), 5), undefined);
  t.is(completionIndexOf(pod('03'), 5), undefined);
  t.is(completionIndexOf(pod('-1'), 5), undefined);
});

test('the lowest free indexes are started first', (t) => {
  t.deepEqual(indexesToStart(5, new Set([0, 2]), 2), [1, 3]);
  t.deepEqual(indexesToStart(3, new Set([0, 1, 2]), 2), []);
});

test('a pod for an index carries it in annotation, label, env, hostname and generateName', (t) => {
  const base: Pod = {
    metadata: { generateName: 'work-', labels: { app: 'w' } },
    spec: {
      initContainers: [{ name: 'init', image: 'busybox' }],
      containers: [
        { name: 'a', image: 'busybox' },
        { name: 'b', image: 'busybox', env: [{ name: 'JOB_COMPLETION_INDEX', value: 'mine' }] },
      ],
    },
  };
  const pod = podForIndex(base, 'work', 3);
  t.is(pod.metadata.generateName, 'work-3-');
  t.is(pod.spec.hostname, 'work-3');
  t.is(pod.metadata.annotations?.[key], '3');
  t.like(pod.metadata.labels, { app: 'w', [key]: '3' });
  const fromAnnotation = { fieldRef: { fieldPath: `metadata.annotations['${key}']` } };
  t.deepEqual(pod.spec.containers[0]!.env, [{ name: 'JOB_COMPLETION_INDEX', valueFrom: fromAnnotation }]);
  t.deepEqual(pod.spec.initContainers![0]!.env, [{ name: 'JOB_COMPLETION_INDEX', valueFrom: fromAnnotation }]);
  t.deepEqual(pod.spec.containers[1]!.env, [{ name: 'JOB_COMPLETION_INDEX', value: 'mine' }], 'its own value stays');
  t.is(base.spec.hostname, undefined, 'the template pod is left alone');
});
