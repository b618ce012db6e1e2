import test from 'ava';
import { planDeployment, revisionAnnotation, templateHashLabel } from '../../../controlplane/controllers/deployment.ts';
import { rollingBounds } from '../../../controlplane/controllers/int-or-percent.ts';
import { templateHash } from '../../../controlplane/controllers/template-hash.ts';
import type { Action } from '../../../controlplane/controllers/actions.ts';
import type { Deployment, ReplicaSet, WorkloadCondition } from '../../../controlplane/controllers/workload-types.ts';
import { at, describe, now, ownerRef, pod } from './fixtures.ts';

function deployment(
  image: string,
  replicas: number,
  extra: Partial<Deployment['spec']> = {},
  status?: Deployment['status'],
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', generation: 2, resourceVersion: '5' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image }] } },
      ...extra,
    },
    ...(status ? { status } : {}),
  };
}

/** A ReplicaSet the controller made earlier for `image`, with its replicas all available. */
function rsFor(
  d: Deployment,
  image: string,
  revision: number,
  replicas: number,
  available = replicas,
  createdAt = revision * 10,
): ReplicaSet {
  const template = structuredClone(d.spec.template);
  template.spec.containers[0]!.image = image;
  const hash = templateHash(template);
  template.metadata = { labels: { app: 'web', [templateHashLabel]: hash } };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`,
      namespace: 'default',
      uid: `uid-rs-${image}`,
      resourceVersion: '3',
      creationTimestamp: at(createdAt),
      labels: { app: 'web', [templateHashLabel]: hash },
      annotations: { [revisionAnnotation]: String(revision) },
      ownerReferences: [ownerRef('Deployment', 'web')],
    },
    spec: { replicas, selector: { matchLabels: { app: 'web', [templateHashLabel]: hash } }, template },
    status: { replicas, readyReplicas: available, availableReplicas: available, observedGeneration: 1 },
  };
}

function scaled(actions: readonly Action[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of actions)
    if (a.kind === 'update' && a.resource === 'replicasets')
      out[rsImage(a.object as ReplicaSet)] = (a.object as ReplicaSet).spec.replicas!;
  return out;
}

function rsImage(rs: ReplicaSet): string {
  return rs.spec.template.spec.containers[0]!.image!;
}

function statusOf(actions: readonly Action[]): Deployment['status'] {
  const found = actions.find((a) => a.kind === 'updateStatus');
  return found?.kind === 'updateStatus' ? (found.object as Deployment).status : undefined;
}

function conditionOf(actions: readonly Action[], type: string): WorkloadCondition | undefined {
  return statusOf(actions)?.conditions?.find((c) => c.type === type);
}

const bounds: [
  string | number | undefined,
  string | number | undefined,
  number,
  { maxSurge: number; maxUnavailable: number },
][] = [
  [undefined, undefined, 10, { maxSurge: 3, maxUnavailable: 2 }],
  [undefined, undefined, 4, { maxSurge: 1, maxUnavailable: 1 }],
  [undefined, undefined, 1, { maxSurge: 1, maxUnavailable: 0 }],
  ['0%', '0%', 5, { maxSurge: 0, maxUnavailable: 1 }],
  [2, '50%', 3, { maxSurge: 2, maxUnavailable: 1 }],
  ['34%', '34%', 3, { maxSurge: 2, maxUnavailable: 1 }],
];
for (const [maxSurge, maxUnavailable, replicas, expected] of bounds) {
  test(`rolling bounds: surge ${maxSurge ?? 'default'}, unavailable ${maxUnavailable ?? 'default'} of ${replicas}`, (t) => {
    t.deepEqual(
      rollingBounds(
        {
          ...(maxSurge !== undefined ? { maxSurge } : {}),
          ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
        },
        replicas,
      ),
      expected,
    );
  });
}

test('a new Deployment gets a ReplicaSet named by its template hash, revision 1, full size', (t) => {
  const d = deployment('v1', 3);
  const { actions } = planDeployment({ deployment: d, replicaSets: [], pods: [], now });
  const created = actions.find((a) => a.kind === 'create');
  const rs = created?.kind === 'create' ? (created.object as ReplicaSet) : undefined;
  const hash = templateHash(d.spec.template);
  t.is(rs?.metadata.name, `web-${hash}`);
  t.is(rs?.spec.replicas, 3);
  t.is(rs?.metadata.annotations?.[revisionAnnotation], '1');
  t.deepEqual(rs?.spec.selector.matchLabels, { app: 'web', [templateHashLabel]: hash });
  t.is(rs?.spec.template.metadata?.labels?.[templateHashLabel], hash);
  t.deepEqual(rs?.metadata.ownerReferences, [ownerRef('Deployment', 'web')]);
  t.like(conditionOf(actions, 'Progressing'), {
    status: 'True',
    reason: 'NewReplicaSetCreated',
    message: `Created new replica set "web-${hash}"`,
  });
  t.like(conditionOf(actions, 'Available'), { status: 'False', reason: 'MinimumReplicasUnavailable' });
  t.true(describe(actions).includes('update deployments web'), 'the Deployment records revision 1');
});

test('rolling update, step by step, stays within maxSurge 1 and maxUnavailable 1 of 4', (t) => {
  const d = deployment(
    'v2',
    4,
    {},
    { observedGeneration: 1, replicas: 4, updatedReplicas: 4, availableReplicas: 4, readyReplicas: 4 },
  );
  const old = rsFor(d, 'v1', 1, 4);
  // Step 1: the new ReplicaSet starts at 1 (4 + 1 surge - 4 existing).
  const first = planDeployment({ deployment: d, replicaSets: [old], pods: [], now });
  const created = first.actions.find((a) => a.kind === 'create');
  t.is(created?.kind === 'create' ? (created.object as ReplicaSet).spec.replicas : -1, 1);
  t.is(
    created?.kind === 'create' ? (created.object as ReplicaSet).metadata.annotations?.[revisionAnnotation] : '',
    '2',
  );
  // Step 2: new has 1 unavailable replica; old may drop one (5 total - 3 min available - 1 unavailable new).
  const fresh = rsFor(d, 'v2', 2, 1, 0);
  t.deepEqual(scaled(planDeployment({ deployment: d, replicaSets: [old, fresh], pods: [], now }).actions), { v1: 3 });
  // Step 3: old at 3; total 4 < 5, so the new one may grow to 2.
  t.deepEqual(
    scaled(planDeployment({ deployment: d, replicaSets: [rsFor(d, 'v1', 1, 3), fresh], pods: [], now }).actions),
    { v2: 2 },
  );
  // Step 4: new at 2 with both available: old may drop to 1 (available 3 + 2 - min 3 = 2 spare).
  t.deepEqual(
    scaled(
      planDeployment({ deployment: d, replicaSets: [rsFor(d, 'v1', 1, 3), rsFor(d, 'v2', 2, 2)], pods: [], now })
        .actions,
    ),
    { v1: 1 },
  );
});

test('old pods that are not available are scaled away first, without touching availability', (t) => {
  const d = deployment('v2', 4, {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
  });
  const broken = rsFor(d, 'v1', 1, 4, 1);
  const fresh = rsFor(d, 'v2', 2, 0, 0);
  // Budget: 4 total - 3 min available - 0 = 1; the old set has 3 unavailable, so one of those goes.
  t.deepEqual(scaled(planDeployment({ deployment: d, replicaSets: [broken, fresh], pods: [], now }).actions), {
    v1: 3,
  });
});

test('Recreate scales old ReplicaSets to zero and waits for their pods before scaling up', (t) => {
  const d = deployment('v2', 2, { strategy: { type: 'Recreate' } });
  const old = rsFor(d, 'v1', 1, 2);
  const fresh = rsFor(d, 'v2', 2, 0, 0);
  t.deepEqual(scaled(planDeployment({ deployment: d, replicaSets: [old, fresh], pods: [], now }).actions), { v1: 0 });
  const drained = rsFor(d, 'v1', 1, 0, 0);
  const lingering = pod('old-pod', {
    owner: { ...ownerRef('ReplicaSet', drained.metadata.name!), uid: drained.metadata.uid! },
    node: 'n',
    labels: drained.spec.template.metadata!.labels!,
  });
  t.deepEqual(
    scaled(planDeployment({ deployment: d, replicaSets: [drained, fresh], pods: [lingering], now }).actions),
    {},
    'an old pod still runs',
  );
  t.deepEqual(scaled(planDeployment({ deployment: d, replicaSets: [drained, fresh], pods: [], now }).actions), {
    v2: 2,
  });
});

test('rollout undo: the old template becomes current again and gets the next revision', (t) => {
  const d = deployment(
    'v1',
    2,
    {},
    { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 },
  );
  const v1 = rsFor(d, 'v1', 1, 0, 0);
  const v2 = rsFor(d, 'v2', 2, 2);
  const { actions } = planDeployment({ deployment: d, replicaSets: [v1, v2], pods: [], now });
  const promoted = actions.find(
    (a) =>
      a.kind === 'update' &&
      a.object.metadata.name === v1.metadata.name &&
      a.object.metadata.annotations?.[revisionAnnotation] === '3',
  );
  t.truthy(promoted, describe(actions).join('; '));
  const annotated = actions.find((a) => a.kind === 'update' && a.resource === 'deployments');
  t.is(annotated?.kind === 'update' ? annotated.object.metadata.annotations?.[revisionAnnotation] : undefined, '3');
});

test('a paused Deployment creates nothing and says so', (t) => {
  const d = deployment('v2', 2, { paused: true });
  const { actions } = planDeployment({ deployment: d, replicaSets: [rsFor(d, 'v1', 1, 2)], pods: [], now });
  t.false(actions.some((a) => a.kind === 'create' || (a.kind === 'update' && a.resource === 'replicasets')));
  t.like(conditionOf(actions, 'Progressing'), {
    status: 'Unknown',
    reason: 'DeploymentPaused',
    message: 'Deployment is paused',
  });
});

test('no progress for longer than progressDeadlineSeconds: Progressing=False ProgressDeadlineExceeded', (t) => {
  const stuck: WorkloadCondition = {
    type: 'Progressing',
    status: 'True',
    reason: 'ReplicaSetUpdated',
    message: 'x',
    lastUpdateTime: at(0),
    lastTransitionTime: at(0),
  };
  const status = {
    observedGeneration: 2,
    replicas: 2,
    updatedReplicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    unavailableReplicas: 1,
    conditions: [stuck],
  };
  // maxSurge 0 and one unavailable new pod: nothing may move until that pod becomes available.
  const d = deployment(
    'v2',
    2,
    { progressDeadlineSeconds: 300, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } } },
    status,
  );
  const v1 = rsFor(d, 'v1', 1, 1);
  const v2 = rsFor(d, 'v2', 2, 1, 0);
  const late = planDeployment({ deployment: d, replicaSets: [v1, v2], pods: [], now });
  t.like(conditionOf(late.actions, 'Progressing'), {
    status: 'False',
    reason: 'ProgressDeadlineExceeded',
    message: `ReplicaSet "${v2.metadata.name}" has timed out progressing.`,
  });
  const early = planDeployment({ deployment: d, replicaSets: [v1, v2], pods: [], now: new Date(Date.parse(at(100))) });
  t.is(early.requeueAfterMs, 200_001, 'comes back when the deadline passes');
});

test('a finished rollout reports NewReplicaSetAvailable and prunes history beyond the limit', (t) => {
  const d = deployment('v4', 2, { revisionHistoryLimit: 1 });
  const rss = [rsFor(d, 'v1', 1, 0, 0), rsFor(d, 'v2', 2, 0, 0), rsFor(d, 'v3', 3, 0, 0), rsFor(d, 'v4', 4, 2)];
  const { actions } = planDeployment({ deployment: d, replicaSets: rss, pods: [], now });
  t.like(conditionOf(actions, 'Progressing'), {
    status: 'True',
    reason: 'NewReplicaSetAvailable',
    message: `ReplicaSet "${rss[3]!.metadata.name}" has successfully progressed.`,
  });
  t.like(conditionOf(actions, 'Available'), {
    status: 'True',
    reason: 'MinimumReplicasAvailable',
    message: 'Deployment has minimum availability.',
  });
  t.like(statusOf(actions), {
    observedGeneration: 2,
    replicas: 2,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
    unavailableReplicas: 0,
  });
  t.deepEqual(
    describe(actions).filter((a) => a.startsWith('delete')),
    [`delete replicasets ${rss[0]!.metadata.name}`, `delete replicasets ${rss[1]!.metadata.name}`],
  );
});

test('scaling a finished Deployment resizes its ReplicaSet directly', (t) => {
  const d = deployment('v1', 5);
  t.deepEqual(scaled(planDeployment({ deployment: d, replicaSets: [rsFor(d, 'v1', 1, 3)], pods: [], now }).actions), {
    v1: 5,
  });
  t.deepEqual(
    scaled(
      planDeployment({ deployment: deployment('v1', 1), replicaSets: [rsFor(d, 'v1', 1, 3)], pods: [], now }).actions,
    ),
    { v1: 1 },
  );
});

test('once status is current and nothing moves, the plan is empty', (t) => {
  const d = deployment('v1', 2);
  const rs = rsFor(d, 'v1', 1, 2);
  const first = planDeployment({ deployment: d, replicaSets: [rs], pods: [], now });
  const settled: Deployment = {
    ...d,
    metadata: { ...d.metadata, annotations: { [revisionAnnotation]: '1' } },
    status: statusOf(first.actions)!,
  };
  t.deepEqual(
    planDeployment({ deployment: settled, replicaSets: [rs], pods: [], now: new Date(now.getTime() + 60_000) }).actions,
    [],
  );
});

test('scaling mid-rollout spreads the new replicas over both ReplicaSets in proportion', (t) => {
  const d = deployment('v2', 20);
  const annotate = (rs: ReplicaSet) => {
    rs.metadata.annotations = {
      ...rs.metadata.annotations,
      'deployment.kubernetes.io/desired-replicas': '10',
      'deployment.kubernetes.io/max-replicas': '13',
    };
    return rs;
  };
  const old = annotate(rsFor(d, 'v1', 1, 6));
  const fresh = annotate(rsFor(d, 'v2', 2, 4, 0));
  const sizes = scaled(planDeployment({ deployment: d, replicaSets: [old, fresh], pods: [], now }).actions);
  // 20 replicas + 5 surge = 25 allowed; the old set was sized for 13: 6→12 and 4→8, the rest to the largest.
  t.deepEqual(sizes, { v1: 17, v2: 8 });
  t.is(sizes.v1! + sizes.v2!, 25);
  const paused = scaled(
    planDeployment({
      deployment: { ...d, spec: { ...d.spec, paused: true } },
      replicaSets: [old, fresh],
      pods: [],
      now,
    }).actions,
  );
  t.deepEqual(paused, { v1: 17, v2: 8 }, 'a paused Deployment still scales');
});

test('the change-cause annotation of the Deployment is recorded on its new ReplicaSet', (t) => {
  const d = deployment('v1', 1);
  d.metadata.annotations = { 'kubernetes.io/change-cause': 'kubectl set image deployment/web app=v1' };
  const created = planDeployment({ deployment: d, replicaSets: [], pods: [], now }).actions.find(
    (a) => a.kind === 'create',
  );
  t.is(
    created?.kind === 'create' ? created.object.metadata.annotations?.['kubernetes.io/change-cause'] : undefined,
    'kubectl set image deployment/web app=v1',
  );
});

test('a template sent back with null fields (kubectl rollout undo) hashes as the one without them', (t) => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };
  const undone = {
    metadata: { creationTimestamp: null, labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'busybox' }] },
  };
  t.is(templateHash(undone), templateHash(template));
  t.not(templateHash({ ...template, spec: { containers: [{ name: 'app', image: 'other' }] } }), templateHash(template));
});
