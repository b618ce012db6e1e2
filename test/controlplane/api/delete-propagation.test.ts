import test from 'ava';
import { ApiError } from '../../../kube/errors.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { finalizersAfterDelete, parsePropagation } from '../../../controlplane/api/delete-propagation.ts';
import { findResource } from '../../../controlplane/api/resources.ts';
import { planGarbage, planOwnerFinalizers } from '../../../controlplane/controllers/garbage-collector.ts';
import type { Caches } from '../../../controlplane/controllers/manager.ts';
import { planJob } from '../../../controlplane/controllers/job.ts';
import type { Job } from '../../../controlplane/controllers/workload-types.ts';
import { describe, now, ownerRef, pod } from '../controllers/fixtures.ts';

const deployments = findResource('apps', 'v1', 'deployments')!;
const jobs = findResource('batch', 'v1', 'jobs')!;
const configmaps = findResource('', 'v1', 'configmaps')!;

const finalizerTable: [string, typeof deployments, string[], Parameters<typeof finalizersAfterDelete>[2], string[]][] =
  [
    ['Background adds nothing', deployments, [], { propagationPolicy: 'Background' }, []],
    ['no policy on a Deployment is Background', deployments, [], {}, []],
    ['no policy on a batch/v1 Job orphans', jobs, [], {}, ['orphan']],
    ['Background on a Job deletes its pods', jobs, [], { propagationPolicy: 'Background' }, []],
    [
      'Orphan adds orphan, keeps others',
      deployments,
      ['example.com/hold'],
      { propagationPolicy: 'Orphan' },
      ['example.com/hold', 'orphan'],
    ],
    [
      'Foreground adds foregroundDeletion',
      deployments,
      [],
      { propagationPolicy: 'Foreground' },
      ['foregroundDeletion'],
    ],
    [
      'a later explicit policy replaces an earlier one',
      deployments,
      ['foregroundDeletion'],
      { propagationPolicy: 'Orphan' },
      ['orphan'],
    ],
    ['without a policy, an earlier finalizer stands', deployments, ['foregroundDeletion'], {}, ['foregroundDeletion']],
    ['orphanDependents=true is Orphan', deployments, [], { orphanDependents: true }, ['orphan']],
    ['orphanDependents=false is Background', jobs, [], { orphanDependents: false }, []],
    ['resources without collected dependents never wait', configmaps, [], { propagationPolicy: 'Foreground' }, []],
  ];

for (const [title, info, before, request, after] of finalizerTable) {
  test(`finalizersAfterDelete: ${title}`, (t) => {
    t.deepEqual(finalizersAfterDelete(info, before, request), after);
  });
}

test('parsePropagation reads query and body, refuses nonsense and both fields at once', (t) => {
  t.deepEqual(parsePropagation(new URLSearchParams('propagationPolicy=Orphan'), {}), { propagationPolicy: 'Orphan' });
  t.deepEqual(parsePropagation(new URLSearchParams(), { kind: 'DeleteOptions', propagationPolicy: 'Foreground' }), {
    propagationPolicy: 'Foreground',
  });
  t.deepEqual(parsePropagation(new URLSearchParams('orphanDependents=false'), {}), { orphanDependents: false });
  const bad = t.throws(() => parsePropagation(new URLSearchParams('propagationPolicy=Sideways'), {}), {
    instanceOf: ApiError,
  });
  t.regex(bad.message, /Unsupported value: "Sideways"/);
  const both = t.throws(
    () => parsePropagation(new URLSearchParams(), { propagationPolicy: 'Orphan', orphanDependents: true }),
    { instanceOf: ApiError },
  );
  t.regex(both.message, /cannot be both set/);
});

const deleting = (finalizers: string[]): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'uid-web',
    deletionTimestamp: '2026-01-01T00:00:00Z',
    finalizers,
  },
});

test('owner side: orphan stays while any dependent points at the owner', (t) => {
  t.deepEqual(
    planOwnerFinalizers(deleting(['orphan']), 'replicasets', [pod('p', { owner: ownerRef('ReplicaSet', 'web') })])
      .actions,
    [],
  );
  const released = planOwnerFinalizers(deleting(['orphan', 'example.com/hold']), 'replicasets', [pod('p')]);
  t.deepEqual(describe(released.actions), ['update replicasets web']);
  t.deepEqual(released.actions[0]!.kind === 'update' ? released.actions[0]!.object.metadata.finalizers : undefined, [
    'example.com/hold',
  ]);
});

test('owner side: foregroundDeletion waits only for dependents that block it', (t) => {
  t.deepEqual(
    planOwnerFinalizers(deleting(['foregroundDeletion']), 'replicasets', [
      pod('p', { owner: ownerRef('ReplicaSet', 'web') }),
    ]).actions,
    [],
  );
  const nonBlocking = pod('p', { owner: { ...ownerRef('ReplicaSet', 'web'), blockOwnerDeletion: false } });
  t.deepEqual(describe(planOwnerFinalizers(deleting(['foregroundDeletion']), 'replicasets', [nonBlocking]).actions), [
    'update replicasets web',
  ]);
  t.deepEqual(
    planOwnerFinalizers(
      {
        ...deleting(['foregroundDeletion']),
        metadata: { name: 'web', uid: 'uid-web', finalizers: ['foregroundDeletion'] },
      },
      'replicasets',
      [],
    ).actions,
    [],
    'not being deleted',
  );
});

test('dependent side: a foreground owner takes a ReplicaSet down in the foreground too, pods in the background', (t) => {
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'uid-web',
      deletionTimestamp: '2026-01-01T00:00:00Z',
      finalizers: ['foregroundDeletion'],
    },
  };
  const caches = (owner: KubeObject, resource: 'deployments' | 'replicasets'): Caches => ({
    get: (r, key) => (r === resource && key === 'default/web' ? owner : undefined),
    list: (r) => (r === resource ? [owner] : []),
    claimable: () => [],
  });
  const rs: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-1', namespace: 'default', uid: 'uid-rs', ownerReferences: [ownerRef('Deployment', 'web')] },
  };
  t.deepEqual(describe(planGarbage(rs, 'replicasets')(caches(deployment, 'deployments')).actions), [
    'delete replicasets web-1 (Foreground)',
  ]);
  t.deepEqual(
    describe(
      planGarbage(
        pod('p', { owner: ownerRef('ReplicaSet', 'web') }),
        'pods',
      )(caches(deleting(['foregroundDeletion']), 'replicasets')).actions,
    ),
    ['delete pods p'],
  );
});

test('a Job being deleted starts no pods (its orphaned pods must not be replaced)', (t) => {
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: 'once',
      namespace: 'default',
      uid: 'uid-once',
      deletionTimestamp: '2026-01-01T00:00:00Z',
      finalizers: ['orphan'],
    },
    spec: {
      completions: 1,
      parallelism: 1,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
    },
  } as unknown as Job;
  t.deepEqual(planJob(job, [], now).actions, []);
  const { deletionTimestamp: _gone, ...live } = job.metadata;
  t.true(
    planJob({ ...job, metadata: live }, [], now).actions.some((a) => a.kind === 'createPods'),
    'a live Job would start one',
  );
});
