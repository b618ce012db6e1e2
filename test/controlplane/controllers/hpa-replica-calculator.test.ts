/**
 * The replica calculator against upstream's replica calculator cases
 * (pkg/controller/podautoscaler/replica_calculator_test.go): pods of two containers that each
 * request `requests[i]` and use `levels[i]` milli-units, ready and Running unless a case says
 * otherwise, started long ago; "hot" pods started just now (inside the CPU initialization period
 * of 2 minutes used there), "cool" ones 3 minutes ago; tolerance 0.1.
 */
import test from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import {
  averageValueReplicas,
  type CalculatorOptions,
  type PodSample,
  resourceUtilizationReplicas,
} from '../../../controlplane/controllers/hpa/replica-calculator.ts';

const now = Date.parse('2026-03-01T12:00:00Z');
const zeroTime = '0001-01-01T00:00:00Z';
const hot = new Date(now).toISOString();
const cool = new Date(now - 3 * 60_000).toISOString();
const options: CalculatorOptions = {
  tolerance: { down: 0.1, up: 0.1 },
  cpuInitializationPeriodMs: 2 * 60_000,
  delayOfInitialReadinessStatusMs: 10_000,
  nowMs: now,
};

interface Case {
  currentReplicas: number;
  requests?: string[];
  levels: number[];
  podNames?: string[];
  readiness?: ('True' | 'False')[];
  startTimes?: string[];
  phases?: string[];
  deleting?: boolean[];
}

function podsOf(c: Case): KubeObject[] {
  const count = Math.max(c.currentReplicas, c.phases?.length ?? 0);
  return Array.from({ length: count }, (_, i) => {
    const request = c.requests?.[i];
    const resources = request === undefined ? {} : { requests: { cpu: request } };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `test-pod-${i}`,
        namespace: 'test-namespace',
        ...(c.deleting?.[i] ? { deletionTimestamp: hot } : {}),
      },
      spec: {
        containers: [
          { name: 'container0', resources },
          { name: 'container1', resources },
        ],
      },
      status: {
        phase: c.phases?.[i] ?? 'Running',
        startTime: c.startTimes?.[i] ?? zeroTime,
        conditions: [{ type: 'Ready', status: c.readiness?.[i] ?? 'True' }],
      },
    };
  });
}

/** Two containers per pod, each at the level: the pod uses twice it. */
function samplesOf(c: Case): Map<string, PodSample> {
  return new Map(
    c.levels.map((level, i) => [
      c.podNames?.[i] ?? `test-pod-${i}`,
      { milliValue: 2 * level, timestampMs: Date.parse(zeroTime), windowMs: 60_000 },
    ]),
  );
}

function utilization(c: Case, targetUtilization: number) {
  return resourceUtilizationReplicas({
    currentReplicas: c.currentReplicas,
    targetUtilization,
    resource: 'cpu',
    container: '',
    pods: podsOf(c),
    samples: samplesOf(c),
    options,
  });
}

const cpuCases: Array<[string, Case, number, { replicas: number; utilization: number; raw: number }]> = [
  [
    'scale up',
    { currentReplicas: 3, requests: ['1.0', '1.0', '1.0'], levels: [300, 500, 700] },
    30,
    { replicas: 5, utilization: 50, raw: 1000 },
  ],
  [
    'scale up with an unready pod: less',
    {
      currentReplicas: 3,
      requests: ['1.0', '1.0', '1.0'],
      levels: [300, 500, 700],
      readiness: ['False', 'True', 'True'],
    },
    30,
    { replicas: 4, utilization: 60, raw: 1200 },
  ],
  [
    'scale up with a hot CPU pod: less',
    { currentReplicas: 3, requests: ['1.0', '1.0', '1.0'], levels: [300, 500, 700], startTimes: [hot, cool, cool] },
    30,
    { replicas: 4, utilization: 60, raw: 1200 },
  ],
  [
    'scale up held back by unready pods',
    {
      currentReplicas: 3,
      requests: ['1.0', '1.0', '1.0'],
      levels: [400, 500, 700],
      readiness: ['True', 'False', 'False'],
    },
    30,
    { replicas: 3, utilization: 40, raw: 800 },
  ],
  [
    'hot CPU pods: no scale',
    {
      currentReplicas: 3,
      requests: ['1.0', '1.0', '1.0'],
      levels: [400, 500, 700],
      readiness: ['True', 'False', 'False'],
      startTimes: [cool, hot, hot],
    },
    30,
    { replicas: 3, utilization: 40, raw: 800 },
  ],
  [
    'scale up ignores failed pods',
    {
      currentReplicas: 2,
      requests: ['1.0', '1.0', '1.0', '1.0'],
      levels: [500, 700],
      readiness: ['True', 'True', 'False', 'False'],
      phases: ['Running', 'Running', 'Failed', 'Failed'],
    },
    30,
    { replicas: 4, utilization: 60, raw: 1200 },
  ],
  [
    'scale up ignores pods being deleted',
    {
      currentReplicas: 2,
      requests: ['1.0', '1.0', '1.0', '1.0'],
      levels: [500, 700],
      readiness: ['True', 'True', 'False', 'False'],
      phases: ['Running', 'Running', 'Running', 'Running'],
      deleting: [false, false, true, true],
    },
    30,
    { replicas: 4, utilization: 60, raw: 1200 },
  ],
  [
    'scale down',
    { currentReplicas: 5, requests: ['1.0', '1.0', '1.0', '1.0', '1.0'], levels: [100, 300, 500, 250, 250] },
    50,
    { replicas: 3, utilization: 28, raw: 560 },
  ],
  [
    'scale down leaves unready pods out',
    {
      currentReplicas: 5,
      requests: ['1.0', '1.0', '1.0', '1.0', '1.0'],
      levels: [100, 300, 500, 250, 250],
      readiness: ['True', 'True', 'True', 'False', 'False'],
    },
    50,
    { replicas: 2, utilization: 30, raw: 600 },
  ],
  [
    'scale down leaves unscheduled pods out',
    {
      currentReplicas: 5,
      requests: ['1.0', '1.0', '1.0', '1.0', '1.0'],
      levels: [100],
      readiness: ['True', 'False', 'False', 'False', 'False'],
      phases: ['Running', 'Pending', 'Pending', 'Pending', 'Pending'],
    },
    50,
    { replicas: 1, utilization: 10, raw: 200 },
  ],
  [
    'scale down ignores hot CPU pods',
    {
      currentReplicas: 5,
      requests: ['1.0', '1.0', '1.0', '1.0', '1.0'],
      levels: [100, 300, 500, 250, 250],
      startTimes: [cool, cool, cool, hot, hot],
    },
    50,
    { replicas: 2, utilization: 30, raw: 600 },
  ],
  [
    'scale down ignores failed pods',
    {
      currentReplicas: 5,
      requests: ['1.0', '1.0', '1.0', '1.0', '1.0', '1.0', '1.0'],
      levels: [100, 300, 500, 250, 250],
      readiness: ['True', 'True', 'True', 'True', 'True', 'False', 'False'],
      phases: ['Running', 'Running', 'Running', 'Running', 'Running', 'Failed', 'Failed'],
    },
    50,
    { replicas: 3, utilization: 28, raw: 560 },
  ],
  [
    'within tolerance',
    { currentReplicas: 3, requests: ['0.9', '1.0', '1.1'], levels: [1010, 1030, 1020] },
    100,
    { replicas: 3, utilization: 102, raw: 2040 },
  ],
  [
    'superfluous metrics of pods not listed',
    { currentReplicas: 4, requests: ['1.0', '1.0', '1.0', '1.0'], levels: [4000, 9500, 3000, 7000, 3200, 2000] },
    100,
    { replicas: 24, utilization: 587, raw: 11750 },
  ],
  [
    'missing metrics',
    { currentReplicas: 4, requests: ['1.0', '1.0', '1.0', '1.0'], levels: [400, 95] },
    100,
    { replicas: 3, utilization: 24, raw: 495 },
  ],
  [
    'missing metrics, no change at the target',
    { currentReplicas: 2, requests: ['1.0', '1.0'], levels: [1000] },
    100,
    { replicas: 2, utilization: 100, raw: 2000 },
  ],
  [
    'missing metrics, no change above the target',
    { currentReplicas: 2, requests: ['1.0', '1.0'], levels: [1900] },
    100,
    { replicas: 2, utilization: 190, raw: 3800 },
  ],
  [
    'missing metrics, no change below the target',
    { currentReplicas: 2, requests: ['1.0', '1.0'], levels: [600] },
    100,
    { replicas: 2, utilization: 60, raw: 1200 },
  ],
  [
    'missing metrics and an unready pod: no change',
    { currentReplicas: 3, requests: ['1.0', '1.0', '1.0'], levels: [100, 450], readiness: ['False', 'True', 'True'] },
    50,
    { replicas: 3, utilization: 45, raw: 900 },
  ],
  [
    'missing metrics and a hot CPU pod: no change',
    { currentReplicas: 3, requests: ['1.0', '1.0', '1.0'], levels: [100, 450], startTimes: [hot, cool, cool] },
    50,
    { replicas: 3, utilization: 45, raw: 900 },
  ],
  [
    'missing metrics and an unready pod: scale up',
    { currentReplicas: 3, requests: ['1.0', '1.0', '1.0'], levels: [100, 2000], readiness: ['False', 'True', 'True'] },
    50,
    { replicas: 4, utilization: 200, raw: 4000 },
  ],
  [
    'missing metrics and a hot CPU pod: scale up',
    {
      currentReplicas: 3,
      requests: ['1.0', '1.0', '1.0'],
      levels: [100, 2000],
      readiness: ['False', 'True', 'True'],
      startTimes: [hot, cool, cool],
    },
    50,
    { replicas: 4, utilization: 200, raw: 4000 },
  ],
  [
    'missing metrics and an unready pod: scale down',
    {
      currentReplicas: 4,
      requests: ['1.0', '1.0', '1.0', '1.0'],
      levels: [100, 100, 100],
      readiness: ['False', 'True', 'True', 'True'],
    },
    50,
    { replicas: 3, utilization: 10, raw: 200 },
  ],
];

for (const [title, c, target, expected] of cpuCases) {
  test(`cpu utilization: ${title}`, (t) => {
    const got = utilization(c, target);
    t.deepEqual({ replicas: got.replicas, utilization: got.utilization, raw: got.rawUtilization }, expected);
  });
}

test('cpu utilization: errors in upstream words', (t) => {
  t.throws(
    () => utilization({ currentReplicas: 1, requests: ['1.0'], levels: [100], podNames: ['an-older-pod-name'] }, 100),
    { message: 'no metrics returned matched known pods' },
  );
  t.throws(() => utilization({ currentReplicas: 1, requests: [], levels: [200] }, 100), {
    message: 'missing request for cpu in container container0 of Pod test-pod-0',
  });
  t.throws(() => utilization({ currentReplicas: 0, levels: [] }, 100), {
    message: 'no pods returned by selector while calculating replica count',
  });
  t.throws(
    () =>
      utilization(
        { currentReplicas: 2, requests: ['1.0', '1.0'], levels: [100, 100], readiness: ['False', 'False'] },
        50,
      ),
    { message: 'did not receive metrics for targeted pods (pods might be unready)' },
  );
});

test('cpu utilization: the tolerance edge, back-calculated as upstream does', (t) => {
  // ten pods whose containers use 150m each and ask for about 300m (50 %): a target just past
  // the tolerance scales down, one just inside it does not
  const c: Case = {
    currentReplicas: 10,
    levels: Array(10).fill(150),
    requests: [100, -100, 10, -10, 2, -2, 1, -1, 0, 0].map((d) => `${300 + d}m`),
  };
  const past = 1 / (2 * (1 - options.tolerance.down)) + 0.01;
  t.is(utilization(c, Math.trunc(past * 100)).replicas, Math.ceil((1500 / (3000 * past)) * 10));
  const inside = 1 / (2 * (1 - options.tolerance.down)) + 0.004;
  t.is(utilization(c, Math.trunc(inside * 100)).replicas, 10);
});

test('cpu utilization: a tolerance per direction (behavior.scaleUp/scaleDown.tolerance)', (t) => {
  // 105 % of the target: inside the default 10 %, outside a 1 % scale-up tolerance
  const c: Case = { currentReplicas: 4, requests: ['1.0', '1.0', '1.0', '1.0'], levels: [525, 525, 525, 525] };
  const run = (tolerance: { down: number; up: number }) =>
    resourceUtilizationReplicas({
      currentReplicas: 4,
      targetUtilization: 50,
      resource: 'cpu',
      container: '',
      pods: podsOf(c),
      samples: samplesOf(c),
      options: { ...options, tolerance },
    }).replicas;
  t.is(run({ down: 0.1, up: 0.1 }), 4);
  t.is(run({ down: 0.1, up: 0.01 }), 5);
  t.is(run({ down: 0.01, up: 0.1 }), 4, 'a scale-down tolerance says nothing about going up');
});

const podsMetricCases: Array<[string, Case, number, { replicas: number; usage: number }]> = [
  ['scale up', { currentReplicas: 3, levels: [20000, 10000, 30000] }, 15000, { replicas: 4, usage: 20000 }],
  [
    'scale up with an unready pod, no less scale',
    {
      currentReplicas: 3,
      levels: [50000, 10000, 30000],
      readiness: ['True', 'True', 'False'],
      startTimes: [cool, cool, hot],
    },
    15000,
    { replicas: 6, usage: 30000 },
  ],
  [
    'scale up where unready pods would scale down',
    {
      currentReplicas: 3,
      levels: [50000, 15000, 30000],
      readiness: ['False', 'True', 'False'],
      startTimes: [hot, cool, hot],
    },
    15000,
    { replicas: 7, usage: 31666 },
  ],
  [
    'scale down',
    { currentReplicas: 5, levels: [12000, 12000, 12000, 12000, 12000] },
    20000,
    { replicas: 3, usage: 12000 },
  ],
  ['within tolerance', { currentReplicas: 3, levels: [20000, 21000, 21000] }, 20000, { replicas: 3, usage: 20666 }],
];

for (const [title, c, target, expected] of podsMetricCases) {
  test(`average value: ${title}`, (t) => {
    // these cases state per-pod values directly (no containers to add up)
    const samples = new Map(
      c.levels.map((level, i) => [
        `test-pod-${i}`,
        { milliValue: level, timestampMs: Date.parse(zeroTime), windowMs: 60_000 },
      ]),
    );
    const got = averageValueReplicas({
      currentReplicas: c.currentReplicas,
      targetMilliValue: target,
      resource: 'qps',
      pods: podsOf(c),
      samples,
      options,
    });
    t.deepEqual({ replicas: got.replicas, usage: got.usage }, expected);
  });
}
