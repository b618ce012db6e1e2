/**
 * The HorizontalPodAutoscaler API: autoscaling/v2 with upstream's defaults and field rules, and
 * the autoscaling/v1 view of the same stored object (what v1 cannot say rides in annotations and
 * comes back unchanged), the status subresource, and the columns `kubectl get hpa` prints.
 */
import test from 'ava';
import { adminCall, sharedInProcess } from '../in-process.ts';

const shared = sharedInProcess(test);
const send = (method: string, path: string, body?: unknown, contentType?: string, headers?: Record<string, string>) =>
  adminCall(shared.server(), method, path, body, contentType, headers);

const v2 = '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers';
const v1 = '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers';

type Any = Record<string, any>;

function hpaV2(name: string, spec: Any = {}): Any {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5, ...spec },
  };
}

test('a v2 object gets upstream defaults: one replica at least, CPU at 80 %, every rule of a behavior it names', async (t) => {
  const created = await send(
    'POST',
    v2,
    hpaV2('defaults', { behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } }),
  );
  t.is(created.status, 201, JSON.stringify(created.body));
  const spec = (created.body as Any).spec;
  t.is(spec.minReplicas, 1);
  t.deepEqual(spec.metrics, [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
  ]);
  t.deepEqual(spec.behavior.scaleUp, {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
  });
  t.deepEqual(spec.behavior.scaleDown, {
    stabilizationWindowSeconds: 60,
    selectPolicy: 'Max',
    policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
  });
});

test('autoscaling/v1 reads the v2 object: the CPU target as targetCPUUtilizationPercentage, the rest in annotations', async (t) => {
  const metrics = [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
    { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '200Mi' } } },
  ];
  t.is((await send('POST', v2, hpaV2('both', { metrics }))).status, 201);
  const read = await send('GET', `${v1}/both`);
  t.is(read.status, 200);
  const body = read.body as Any;
  t.is(body.apiVersion, 'autoscaling/v1');
  t.is(body.spec.targetCPUUtilizationPercentage, 50);
  t.is(body.spec.metrics, undefined);
  t.deepEqual(JSON.parse(body.metadata.annotations['autoscaling.alpha.kubernetes.io/metrics']), [
    { type: 'Resource', resource: { name: 'memory', targetAverageValue: '200Mi' } },
  ]);
  // a v1 client writing the object back loses nothing of the v2 spec
  const replaced = await send('PUT', `${v1}/both`, { ...body, spec: { ...body.spec, maxReplicas: 7 } });
  t.is(replaced.status, 200, JSON.stringify(replaced.body));
  const again = (await send('GET', `${v2}/both`)).body as Any;
  t.is(again.spec.maxReplicas, 7);
  t.deepEqual(again.spec.metrics, [metrics[1], metrics[0]]);
  t.is(again.metadata.annotations, undefined);
});

test('a v1 object without a target aims at CPU 80 % in v2, and its status converts both ways', async (t) => {
  const created = await send('POST', v1, {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'plain' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 3 },
  });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is((created.body as Any).spec.minReplicas, 1);
  t.is((created.body as Any).spec.targetCPUUtilizationPercentage, 80);
  const current = (await send('GET', `${v2}/plain`)).body as Any;
  const status = {
    currentReplicas: 2,
    desiredReplicas: 3,
    currentMetrics: [
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 95, averageValue: '190m' } } },
    ],
    conditions: [
      {
        type: 'AbleToScale',
        status: 'True',
        reason: 'SucceededRescale',
        message: 'm',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  };
  t.is((await send('PUT', `${v2}/plain/status`, { ...current, status })).status, 200);
  const asV1 = (await send('GET', `${v1}/plain`)).body as Any;
  t.is(asV1.status.currentCPUUtilizationPercentage, 95);
  t.is(asV1.status.desiredReplicas, 3);
  t.is(
    JSON.parse(asV1.metadata.annotations['autoscaling.alpha.kubernetes.io/conditions'])[0].reason,
    'SucceededRescale',
  );
  t.deepEqual((await send('GET', `${v2}/plain`)).body.status.currentMetrics, status.currentMetrics);
});

test("a v1 client's stale status annotations do not overwrite the controller's status", async (t) => {
  t.is((await send('POST', v2, hpaV2('stale'))).status, 201);
  const asV1 = (await send('GET', `${v1}/stale`)).body as Any;
  const current = (await send('GET', `${v2}/stale`)).body as Any;
  const conditions = [
    {
      type: 'AbleToScale',
      status: 'True',
      reason: 'ReadyForNewScale',
      message: 'm',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ];
  t.is(
    (await send('PUT', `${v2}/stale/status`, { ...current, status: { desiredReplicas: 2, conditions } })).status,
    200,
  );
  // the v1 copy read before the controller wrote: no conditions annotation, and one forged
  const forged = JSON.stringify([{ type: 'AbleToScale', status: 'False', reason: 'Forged' }]);
  const replaced = await send('PUT', `${v1}/stale`, {
    ...asV1,
    metadata: {
      ...asV1.metadata,
      resourceVersion: undefined,
      annotations: { 'autoscaling.alpha.kubernetes.io/conditions': forged, team: 'a' },
    },
    spec: { ...asV1.spec, maxReplicas: 4 },
  });
  t.is(replaced.status, 200, JSON.stringify(replaced.body));
  const after = (await send('GET', `${v2}/stale`)).body as Any;
  t.is(after.spec.maxReplicas, 4);
  t.deepEqual(after.status.conditions, conditions);
  t.deepEqual(after.metadata.annotations, { team: 'a' });
  // on create they are dropped too
  const created = await send('POST', v1, {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'stale-new', annotations: { 'autoscaling.alpha.kubernetes.io/conditions': forged } },
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 2 },
  });
  t.is(created.status, 201);
  t.is(((await send('GET', `${v2}/stale-new`)).body as Any).status?.conditions, undefined);
});

test('invalid autoscalers are refused with 422 in upstream words, and nothing is stored', async (t) => {
  const cases: Array<[Any, string]> = [
    [{ minReplicas: 0 }, 'spec.minReplicas: Invalid value: 0: must be greater than or equal to 1'],
    [{ minReplicas: 6 }, 'spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`'],
    [{ maxReplicas: 0 }, 'spec.maxReplicas: Invalid value: 0: must be greater than 0'],
    [
      { scaleTargetRef: { kind: 'Deployment', name: '../x' } },
      `spec.scaleTargetRef.name: Invalid value: "../x": may not contain '/'`,
    ],
    [{ scaleTargetRef: { name: 'x' } }, 'spec.scaleTargetRef.kind: Required value'],
    [
      {
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 0 } } },
        ],
      },
      'spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0',
    ],
    [
      { metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } }] },
      'spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization',
    ],
    [
      {
        metrics: [{ type: 'Pods', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 5 } } }],
      },
      'spec.metrics[0].pods: Required value: must populate information for the given metric source',
    ],
    [
      { behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodSeconds: 1801 }] } } },
      'spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800',
    ],
    [
      { behavior: { scaleDown: { stabilizationWindowSeconds: 3601 } } },
      'spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600',
    ],
    [
      { behavior: { scaleUp: { tolerance: '-0.1' } } },
      'spec.behavior.scaleUp.tolerance: Invalid value: "-0.1": must be greater than or equal to zero',
    ],
    [
      { behavior: { scaleDown: { selectPolicy: 'Sometimes' } } },
      'spec.behavior.scaleDown.selectPolicy: Unsupported value: "Sometimes": supported values: "Disabled", "Max", "Min"',
    ],
  ];
  for (const [i, [spec, message]] of cases.entries()) {
    const body = hpaV2(`bad-${i}`, spec);
    body.spec.scaleTargetRef = { ...body.spec.scaleTargetRef, ...spec.scaleTargetRef };
    if (spec.scaleTargetRef?.kind === undefined && spec.scaleTargetRef !== undefined)
      delete body.spec.scaleTargetRef.kind;
    const reply = await send('POST', v2, body);
    t.is(reply.status, 422, `${message}: ${JSON.stringify(reply.body)}`);
    t.true(String((reply.body as Any).message).includes(message), String((reply.body as Any).message));
    t.true(String((reply.body as Any).message).startsWith(`HorizontalPodAutoscaler.autoscaling "bad-${i}" is invalid`));
    t.is((await send('GET', `${v2}/bad-${i}`)).status, 404);
  }
  // the v1 view is judged on the v2 form too
  const v1Reply = await send('POST', v1, {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'bad-v1' },
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 2, targetCPUUtilizationPercentage: -5 },
  });
  t.is(v1Reply.status, 422);
  t.true(
    String((v1Reply.body as Any).message).includes(
      'spec.metrics[0].resource.target.averageUtilization: Invalid value: -5',
    ),
  );
  t.is((await send('GET', `${v1}/bad-v1`)).status, 404);
});

test('what upstream does not judge is stored: a metric selector is passed on to the metrics API as written', async (t) => {
  const metrics = [
    {
      type: 'Pods',
      pods: {
        metric: { name: 'queue', selector: { matchExpressions: [{ key: 'x', operator: 'Whatever' }] } },
        target: { type: 'AverageValue', averageValue: '10' },
      },
    },
  ];
  const created = await send('POST', v2, hpaV2('selector', { metrics }));
  t.is(created.status, 201, JSON.stringify(created.body));
  t.deepEqual((created.body as Any).spec.metrics, metrics);
});

test('kubectl get hpa columns: reference, targets as current/target, replica bounds', async (t) => {
  t.is(
    (
      await send(
        'POST',
        v2,
        hpaV2('columns', {
          minReplicas: 2,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
            { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
          ],
        }),
      )
    ).status,
    201,
  );
  for (const path of [v2, v1]) {
    const table = await send('GET', `${path}/columns`, undefined, undefined, {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    t.is(table.status, 200);
    const body = table.body as Any;
    t.deepEqual(
      body.columnDefinitions.map((c: Any) => c.name),
      ['Name', 'Reference', 'Targets', 'MinPods', 'MaxPods', 'Replicas', 'Age'],
    );
    // through v1 the CPU target comes last, as upstream's v1 conversion puts it
    const targets =
      path === v2 ? 'cpu: <unknown>/50%, memory: <unknown>/100Mi' : 'memory: <unknown>/100Mi, cpu: <unknown>/50%';
    t.deepEqual(body.rows[0].cells.slice(0, 6), ['columns', 'Deployment/web', targets, '2', 5, 0]);
  }
});

test('discovery serves autoscaling v2 as the preferred version, and v1, with the hpa short name', async (t) => {
  const group = (await send('GET', '/apis/autoscaling')).body as Any;
  t.is(group.preferredVersion.version, 'v2');
  t.deepEqual(
    group.versions.map((v: Any) => v.version),
    ['v2', 'v1'],
  );
  const resources = (await send('GET', '/apis/autoscaling/v2')).body as Any;
  const hpa = resources.resources.find((r: Any) => r.name === 'horizontalpodautoscalers');
  t.deepEqual(hpa.shortNames, ['hpa']);
  t.true(resources.resources.some((r: Any) => r.name === 'horizontalpodautoscalers/status'));
  // kubectl get apiservices lists both as Local, with kube-apiserver's priorities
  for (const [name, versionPriority] of [
    ['v2.autoscaling', 30],
    ['v1.autoscaling', 15],
  ] as const) {
    const service = (await send('GET', `/apis/apiregistration.k8s.io/v1/apiservices/${name}`)).body as Any;
    t.like(service.spec, { group: 'autoscaling', groupPriorityMinimum: 17500, versionPriority }, name);
  }
});
