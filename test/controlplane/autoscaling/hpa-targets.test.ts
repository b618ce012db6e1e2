/**
 * The autoscaler controller inside a real server (a sync period of 200 ms), scaling each kind of
 * target through its /scale subresource: Deployments, ReplicaSets, StatefulSets,
 * ReplicationControllers and a custom resource with a scale subresource. Without metrics the
 * replica bounds still apply (below minReplicas → up to it, above maxReplicas → down to it, as
 * upstream's controller does before it reads metrics), and a target within bounds whose metrics
 * cannot be read gets ScalingActive False. No node runs the pods.
 */
import test from 'ava';
import { adminCall, sharedInProcess } from '../in-process.ts';
import { waitFor } from '../ports.ts';

const shared = sharedInProcess(test, {
  controlLoops: { withoutScheduler: true, horizontalPodAutoscaler: { syncPeriodMs: 200 } },
});
const send = (method: string, path: string, body?: unknown) => adminCall(shared.server(), method, path, body);

type Any = Record<string, any>;

async function created(path: string, body: Any): Promise<void> {
  const reply = await send('POST', path, body);
  if (reply.status !== 201) throw new Error(`POST ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
}

const labels = (app: string) => ({ app });
const template = (app: string) => ({
  metadata: { labels: labels(app) },
  spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m' } } }] },
});

async function deployment(name: string, replicas: number, namespace = 'default'): Promise<void> {
  await created(`/apis/apps/v1/namespaces/${namespace}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: labels(name) }, template: template(name) },
  });
}

async function autoscale(name: string, target: Any, bounds: { min: number; max: number }): Promise<void> {
  await created('/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers', {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name },
    spec: { scaleTargetRef: target, minReplicas: bounds.min, maxReplicas: bounds.max },
  });
}

async function replicasOf(path: string, read: (o: Any) => unknown = (o) => o.spec.replicas): Promise<unknown> {
  return read((await send('GET', path)).body as Any);
}

async function eventsOf(name: string): Promise<string[]> {
  const list = (await send('GET', `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${name}`))
    .body as Any;
  return (list.items as Any[]).map((e) => `${e.type} ${e.reason}: ${e.message}`);
}

test('a Deployment below minReplicas is scaled up to it, with the event upstream records', async (t) => {
  await deployment('web', 1);
  await autoscale('web', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, { min: 3, max: 5 });
  const path = '/apis/apps/v1/namespaces/default/deployments/web';
  await waitFor('the deployment at 3 replicas', async () => (await replicasOf(path)) === 3);
  t.pass();
  await waitFor('the rescale event', async () =>
    (await eventsOf('web')).includes(
      'Normal SuccessfulRescale: New size: 3; reason: Current number of replicas below Spec.MinReplicas',
    ),
  );
  const hpa = (await send('GET', '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web')).body as Any;
  t.is(hpa.status.desiredReplicas, 3);
  t.like(
    hpa.status.conditions.find((c: Any) => c.type === 'AbleToScale'),
    {
      status: 'True',
      reason: 'SucceededRescale',
      message: 'the HPA controller was able to update the target scale to 3',
    },
  );
  // autoscaling/v1 shows the same status
  const v1 = (await send('GET', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/web')).body as Any;
  t.is(v1.status.desiredReplicas, 3);
});

test('ReplicaSets, StatefulSets and ReplicationControllers above maxReplicas are scaled down to it', async (t) => {
  await created('/apis/apps/v1/namespaces/default/replicasets', {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'rs' },
    spec: { replicas: 5, selector: { matchLabels: labels('rs') }, template: template('rs') },
  });
  await created('/apis/apps/v1/namespaces/default/statefulsets', {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'sts' },
    spec: { replicas: 5, serviceName: 'sts', selector: { matchLabels: labels('sts') }, template: template('sts') },
  });
  await created('/api/v1/namespaces/default/replicationcontrollers', {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'rc' },
    spec: { replicas: 5, selector: labels('rc'), template: template('rc') },
  });
  await autoscale('rs', { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs' }, { min: 1, max: 2 });
  await autoscale('sts', { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'sts' }, { min: 1, max: 2 });
  await autoscale('rc', { apiVersion: 'v1', kind: 'ReplicationController', name: 'rc' }, { min: 1, max: 2 });
  for (const path of [
    '/apis/apps/v1/namespaces/default/replicasets/rs',
    '/apis/apps/v1/namespaces/default/statefulsets/sts',
    '/api/v1/namespaces/default/replicationcontrollers/rc',
  ])
    await waitFor(`${path} at 2 replicas`, async () => (await replicasOf(path)) === 2);
  t.true(
    (await eventsOf('rc')).includes(
      'Normal SuccessfulRescale: New size: 2; reason: Current number of replicas above Spec.MaxReplicas',
    ),
  );
});

test('a custom resource with a scale subresource is scaled through it', async (t) => {
  const group = 'hpa.example.com';
  await created('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `workers.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'workers', singular: 'worker', kind: 'Worker' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer' } } },
                status: { type: 'object', properties: { size: { type: 'integer' }, labels: { type: 'string' } } },
              },
            },
          },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.size',
              statusReplicasPath: '.status.size',
              labelSelectorPath: '.status.labels',
            },
          },
        },
      ],
    },
  });
  const workers = `/apis/${group}/v1/namespaces/default/workers`;
  await waitFor('workers served', async () => (await send('GET', workers)).status === 200, 5_000);
  await created(workers, { apiVersion: `${group}/v1`, kind: 'Worker', metadata: { name: 'w' }, spec: { size: 1 } });
  await autoscale('w', { apiVersion: `${group}/v1`, kind: 'Worker', name: 'w' }, { min: 4, max: 6 });
  await waitFor('the worker at size 4', async () => (await replicasOf(`${workers}/w`, (o) => o.spec.size)) === 4);
  t.pass();
});

test('within bounds but no metrics API: ScalingActive False and the target left alone', async (t) => {
  await deployment('quiet', 2);
  await autoscale('quiet', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'quiet' }, { min: 1, max: 5 });
  const path = '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/quiet';
  let active: Any | undefined;
  await waitFor('ScalingActive', async () => {
    active = ((await send('GET', path)).body as Any).status?.conditions?.find((c: Any) => c.type === 'ScalingActive');
    return active !== undefined;
  });
  t.is(active!.status, 'False');
  t.is(active!.reason, 'FailedGetResourceMetric');
  t.is(await replicasOf('/apis/apps/v1/namespaces/default/deployments/quiet'), 2);
});

test('a target that does not exist: AbleToScale False FailedGetScale', async (t) => {
  await autoscale('ghost', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ghost' }, { min: 1, max: 5 });
  const path = '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/ghost';
  let able: Any | undefined;
  await waitFor('AbleToScale', async () => {
    able = ((await send('GET', path)).body as Any).status?.conditions?.find((c: Any) => c.type === 'AbleToScale');
    return able !== undefined;
  });
  t.like(able, { status: 'False', reason: 'FailedGetScale' });
  t.true(String(able!.message).includes('not found'), able!.message);
});

test('a scale target is found by group and kind, as upstream maps it: the version it names does not matter', async (t) => {
  await deployment('old-ref', 1);
  // written for apps/v1beta1 Deployments (a version no longer served), it still finds apps/v1's
  await autoscale('old-ref', { apiVersion: 'apps/v1beta1', kind: 'Deployment', name: 'old-ref' }, { min: 2, max: 3 });
  await waitFor(
    'old-ref at 2',
    async () => (await replicasOf('/apis/apps/v1/namespaces/default/deployments/old-ref')) === 2,
  );
  t.pass();
});

test('a scale target whose apiVersion is not a plain group/version is refused before any request is made with it', async (t) => {
  await created('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'victim' } });
  await deployment('web', 1, 'victim');
  // an autoscaler in default whose apiVersion smuggles another namespace's path
  await autoscale(
    'smuggler',
    { apiVersion: 'apps/v1/namespaces/victim/deployments/web/scale?x=', kind: 'Deployment', name: 'web' },
    { min: 3, max: 5 },
  );
  await autoscale('query', { apiVersion: 'apps?x=/v1', kind: 'Deployment', name: 'web' }, { min: 3, max: 5 });
  for (const [name, message] of [
    [
      'smuggler',
      "the HPA controller was unable to get the target's current scale: unexpected GroupVersion string: apps/v1/namespaces/victim/deployments/web/scale?x=",
    ],
    [
      'query',
      `the HPA controller was unable to get the target's current scale: no matches for kind "Deployment" in group "apps?x="`,
    ],
  ] as const) {
    const path = `/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/${name}`;
    let able: Any | undefined;
    await waitFor(`${name}: AbleToScale`, async () => {
      able = ((await send('GET', path)).body as Any).status?.conditions?.find((c: Any) => c.type === 'AbleToScale');
      return able !== undefined;
    });
    t.like(able, { status: 'False', reason: 'FailedGetScale', message }, name);
  }
  t.is(await replicasOf('/apis/apps/v1/namespaces/victim/deployments/web'), 1, 'the other namespace untouched');
});
