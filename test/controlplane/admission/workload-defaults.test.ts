/**
 * API defaulting of workloads as upstream's SetDefaults_* and the Job strategy do it: a table of
 * minimal objects and the fields they come back with, then the same through real kubectl.
 */
import test from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import { defaultWorkload } from '../../../controlplane/admission/defaults.ts';
import { useKubectlBed } from '../kubectl-bed.ts';

type Any = Record<string, any>;
const template = () => ({
  metadata: { labels: { app: 'a' } },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
});

const table: [string, string, Any, Any][] = [
  [
    'StatefulSet',
    'StatefulSet',
    { spec: { template: template() } },
    {
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      revisionHistoryLimit: 10,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    },
  ],
  [
    'StatefulSet OnDelete gets no rollingUpdate',
    'StatefulSet',
    { spec: { updateStrategy: { type: 'OnDelete' } } },
    { updateStrategy: { type: 'OnDelete' } },
  ],
  [
    'DaemonSet',
    'DaemonSet',
    { spec: {} },
    {
      revisionHistoryLimit: 10,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
    },
  ],
  [
    'DaemonSet with a partial rollingUpdate',
    'DaemonSet',
    { spec: { updateStrategy: { rollingUpdate: { maxUnavailable: 2 } } } },
    { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2, maxSurge: 0 } } },
  ],
  [
    'Deployment',
    'Deployment',
    { spec: {} },
    {
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
    },
  ],
  [
    'Deployment with maxSurge only',
    'Deployment',
    { spec: { strategy: { rollingUpdate: { maxSurge: 1 } } } },
    { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } } },
  ],
  [
    'Deployment Recreate',
    'Deployment',
    { spec: { strategy: { type: 'Recreate' } } },
    { strategy: { type: 'Recreate' } },
  ],
  [
    'Job',
    'Job',
    { spec: {} },
    {
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
      podReplacementPolicy: 'TerminatingOrFailed',
    },
  ],
  [
    'Job with parallelism only is a work queue',
    'Job',
    { spec: { parallelism: 3 } },
    { parallelism: 3, backoffLimit: 6 },
  ],
  ['Job with completions only', 'Job', { spec: { completions: 5 } }, { completions: 5, parallelism: 1 }],
  [
    'CronJob',
    'CronJob',
    { spec: { schedule: '* * * * *', jobTemplate: { spec: { template: template() } } } },
    { concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 },
  ],
];

for (const [title, kind, input, expected] of table) {
  test(`defaults: ${title}`, (t) => {
    const object: Any = { metadata: { name: 'x', uid: 'uid-x' }, ...structuredClone(input) };
    defaultWorkload(kind, object, true);
    t.like(object.spec, expected);
    if (title.includes('work queue')) t.is(object.spec.completions, undefined);
    if (title.includes('OnDelete') || title.includes('Recreate'))
      t.is((object.spec.updateStrategy ?? object.spec.strategy).rollingUpdate, undefined);
  });
}

test('a Job gets a selector and pod labels from its uid, unless manualSelector', (t) => {
  const job: Any = { metadata: { name: 'pi', uid: 'u-1' }, spec: { template: { spec: { containers: [] } } } };
  defaultWorkload('Job', job, true);
  t.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
  const labels = {
    'batch.kubernetes.io/controller-uid': 'u-1',
    'batch.kubernetes.io/job-name': 'pi',
    'controller-uid': 'u-1',
    'job-name': 'pi',
  };
  t.deepEqual(job.spec.template.metadata.labels, labels);
  t.deepEqual(job.metadata.labels, labels, "a Job without labels shows its pods' labels");
  const manual: Any = {
    metadata: { name: 'm', uid: 'u-2', labels: { own: 'yes' } },
    spec: {
      manualSelector: true,
      selector: { matchLabels: { app: 'm' } },
      template: { metadata: { labels: { app: 'm' } } },
    },
  };
  defaultWorkload('Job', manual, true);
  t.deepEqual(manual.spec.selector, { matchLabels: { app: 'm' } });
  t.deepEqual(manual.spec.template.metadata.labels, { app: 'm' });
  t.deepEqual(manual.metadata.labels, { own: 'yes' });
});

const bed = useKubectlBed({ controllers: false });

test('kubectl sees the defaults on what it created', async (t) => {
  await bed.ok(t, 'create', 'job', 'pi', '--image=busybox:1.36');
  await bed.ok(t, 'create', 'cronjob', 'tick', '--image=busybox:1.36', '--schedule=*/5 * * * *');
  await bed.ok(
    t,
    'apply',
    '-f',
    bed.file(
      'sts.yaml',
      `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: busybox:1.36}]}
`,
    ),
  );
  const get = async (kind: string, name: string) =>
    JSON.parse(await bed.ok(t, 'get', kind, name, '-o', 'json')) as KubeObject & { spec: Any };
  const job = await get('job', 'pi');
  const uid = job.metadata.uid!;
  t.like(job.spec, {
    completions: 1,
    parallelism: 1,
    backoffLimit: 6,
    completionMode: 'NonIndexed',
    suspend: false,
    selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
  });
  t.like(job.spec.template.metadata.labels, {
    'batch.kubernetes.io/job-name': 'pi',
    'job-name': 'pi',
    'controller-uid': uid,
  });
  t.like((await get('cronjob', 'tick')).spec, {
    concurrencyPolicy: 'Allow',
    suspend: false,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 1,
  });
  t.like((await get('statefulset', 'db')).spec, {
    replicas: 1,
    podManagementPolicy: 'OrderedReady',
    revisionHistoryLimit: 10,
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
  });
  // The jsonpath kubectl users would type.
  t.is(
    await bed.ok(
      t,
      'get',
      'job',
      'pi',
      '-o',
      'jsonpath={.spec.selector.matchLabels.batch\\.kubernetes\\.io/controller-uid}',
    ),
    uid,
  );
});
