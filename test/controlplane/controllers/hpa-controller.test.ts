/**
 * The horizontal pod autoscaler controller over a stateful fake of its API seam (scales, pods,
 * pod metrics, status writes, events) and a hand-driven clock: scale up on CPU, the scale-down
 * stabilization window (upstream's 5 minutes by default), behavior policies, the double-or-4
 * limit, and the conditions and events of failures.
 */
import test from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import type { Clock } from '../../../kube/clock.ts';
import type { ListWatch } from '../../../kube/informer.ts';
import type { AutoscalerSeam, TargetRef, TargetScale } from '../../../controlplane/controllers/hpa/api.ts';
import { HorizontalPodAutoscalerController } from '../../../controlplane/controllers/hpa/controller.ts';

type Any = Record<string, any>;

class FakeSeam implements AutoscalerSeam {
  readonly scales = new Map<string, { replicas: number; selector: string }>();
  readonly usage = new Map<string, string>(); // pod name → cpu usage
  pods: KubeObject[] = [];
  metricsError: string | undefined;
  scaleError: string | undefined;
  readonly events: string[] = [];
  readonly statuses: Any[] = [];
  readonly clock: { now(): number };
  constructor(clock: { now(): number }) {
    this.clock = clock;
  }

  async getScale(_namespace: string, target: TargetRef): Promise<TargetScale> {
    const scale = this.scales.get(`${target.kind}/${target.name}`);
    if (scale === undefined) throw new Error(`deployments.apps "${target.name}" not found`);
    return { specReplicas: scale.replicas, statusReplicas: scale.replicas, selector: scale.selector };
  }
  async setScale(_namespace: string, target: TargetRef, replicas: number): Promise<void> {
    if (this.scaleError !== undefined) throw new Error(this.scaleError);
    this.scales.get(`${target.kind}/${target.name}`)!.replicas = replicas;
    this.resizePods(replicas);
  }
  /** The target's pods follow its scale at once, ready and started long ago. */
  resizePods(replicas: number): void {
    this.pods = Array.from({ length: replicas }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', resources: { requests: { cpu: '200m' } } }] },
      status: {
        phase: 'Running',
        startTime: '2026-01-01T00:00:00Z',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      },
    }));
  }
  async listPods(): Promise<KubeObject[]> {
    return this.pods;
  }
  async listPodMetrics(): Promise<Any[]> {
    if (this.metricsError !== undefined) throw new Error(this.metricsError);
    return this.pods
      .filter((p) => this.usage.has(p.metadata.name!) || this.usage.has('*'))
      .map((p) => ({
        metadata: { name: p.metadata.name, namespace: 'default' },
        timestamp: new Date(this.clock.now()).toISOString(),
        window: '15s',
        containers: [{ name: 'c', usage: { cpu: this.usage.get(p.metadata.name!) ?? this.usage.get('*') } }],
      }));
  }
  async writeStatus(hpa: KubeObject): Promise<void> {
    this.statuses.push(hpa.status as Any);
  }
  async recordEvent(_hpa: KubeObject, type: string, reason: string, message: string): Promise<void> {
    this.events.push(`${type} ${reason}: ${message}`);
  }
}

const noAutoscalers: ListWatch<KubeObject> = {
  list: async () => ({ items: [], resourceVersion: '1' }),
  watch: async () => undefined,
};

function setup(spec: Any = {}) {
  let now = Date.parse('2026-03-01T12:00:00Z');
  const clock: Clock & { advance(ms: number): void } = {
    now: () => now,
    after: () => ({ cancel() {} }),
    advance: (ms) => {
      now += ms;
    },
  };
  const seam = new FakeSeam(clock);
  seam.scales.set('Deployment/web', { replicas: 2, selector: 'app=web' });
  seam.resizePods(2);
  const controller = new HorizontalPodAutoscalerController({ seam, autoscalers: noAutoscalers, clock });
  let hpa: KubeObject = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
      ],
      ...spec,
    },
  };
  /** One pass, with the status it wrote kept on the object as the informer would show it. */
  const pass = async () => {
    await controller.sync(hpa);
    const written = seam.statuses.at(-1);
    if (written !== undefined) hpa = { ...hpa, status: written };
    return hpa.status as Any;
  };
  return { seam, clock, pass, controller, hpa: () => hpa, replicas: () => seam.scales.get('Deployment/web')!.replicas };
}

const condition = (status: Any, type: string) => status.conditions.find((c: Any) => c.type === type);

test('scales up on CPU above target, with upstream conditions, status and event', async (t) => {
  const { seam, pass, replicas } = setup();
  seam.usage.set('*', '200m'); // 100 % of the request, target 50 %
  const status = await pass();
  t.is(replicas(), 4);
  t.deepEqual(seam.events, [
    'Normal SuccessfulRescale: New size: 4; reason: cpu resource utilization (percentage of request) above target',
  ]);
  t.is(status.currentReplicas, 2);
  t.is(status.desiredReplicas, 4);
  t.deepEqual(status.currentMetrics, [
    { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 100, averageValue: '200m' } } },
  ]);
  t.like(condition(status, 'AbleToScale'), { status: 'True', reason: 'SucceededRescale' });
  t.like(condition(status, 'ScalingActive'), {
    status: 'True',
    reason: 'ValidMetricFound',
    message:
      'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
  });
  t.like(condition(status, 'ScalingLimited'), { status: 'False', reason: 'DesiredWithinRange' });
  t.truthy(status.lastScaleTime);
});

test('without behavior a scale-up is at most double or 4 pods, and says it is limited', async (t) => {
  const { seam, pass, replicas } = setup();
  seam.scales.get('Deployment/web')!.replicas = 1;
  seam.resizePods(1);
  seam.usage.set('*', '2'); // 1000 % of the request: 10 pods wanted
  const status = await pass();
  t.is(replicas(), 4);
  t.like(condition(status, 'ScalingLimited'), { status: 'True', reason: 'ScaleUpLimit' });
});

test('a scale-down waits out the 5 minute stabilization window, then goes to what the metrics ask', async (t) => {
  const { seam, clock, pass, replicas } = setup();
  seam.usage.set('*', '200m');
  await pass();
  t.is(replicas(), 4);
  seam.usage.set('*', '10m'); // 5 %: one pod would do
  clock.advance(15_000);
  let status = await pass();
  t.is(replicas(), 4, 'held by the recommendation of 15 s ago');
  t.like(condition(status, 'AbleToScale'), { status: 'True', reason: 'ScaleDownStabilized' });
  clock.advance(280_000);
  await pass();
  t.is(replicas(), 4, 'still inside the window');
  clock.advance(10_000);
  status = await pass();
  t.is(replicas(), 1);
  t.true(seam.events.at(-1)!.endsWith('New size: 1; reason: All metrics below target'));
  t.like(condition(status, 'AbleToScale'), { reason: 'SucceededRescale' });
});

test('behavior policies limit the rate: one pod per minute down, no window', async (t) => {
  const { seam, clock, pass, replicas } = setup({
    behavior: {
      scaleDown: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
      },
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      },
    },
  });
  seam.scales.get('Deployment/web')!.replicas = 5;
  seam.resizePods(5);
  seam.usage.set('*', '10m');
  let status = await pass();
  t.is(replicas(), 4);
  t.like(condition(status, 'ScalingLimited'), { status: 'True', reason: 'ScaleDownLimit' });
  clock.advance(30_000);
  await pass();
  t.is(replicas(), 4, 'the minute is not over');
  clock.advance(31_000);
  await pass();
  t.is(replicas(), 3);
  // up: at most 100 % per 15 s, however many the metrics ask for
  seam.usage.set('*', '2');
  clock.advance(61_000);
  status = await pass();
  t.is(replicas(), 6);
  t.like(condition(status, 'ScalingLimited'), { status: 'True', reason: 'ScaleUpLimit' });
});

test('no metrics API: ScalingActive False, a warning, and the target left alone', async (t) => {
  const { seam, pass, replicas } = setup();
  seam.metricsError = 'the server could not find the requested resource';
  const status = await pass();
  t.is(replicas(), 2);
  t.like(condition(status, 'ScalingActive'), {
    status: 'False',
    reason: 'FailedGetResourceMetric',
    message:
      'the HPA was unable to compute the replica count: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource',
  });
  t.true(seam.events.some((e) => e.startsWith('Warning FailedGetResourceMetric')));
  t.true(
    seam.events.some((e) => e.startsWith('Warning FailedComputeMetricsReplicas: invalid metrics (1 invalid out of 1)')),
  );
});

test('a missing target: AbleToScale False FailedGetScale', async (t) => {
  const { seam, pass } = setup({ scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gone' } });
  const status = await pass();
  t.like(condition(status, 'AbleToScale'), {
    status: 'False',
    reason: 'FailedGetScale',
    message: `the HPA controller was unable to get the target's current scale: deployments.apps "gone" not found`,
  });
  t.deepEqual(seam.events, ['Warning FailedGetScale: deployments.apps "gone" not found']);
});

test('a refused scale update: AbleToScale False FailedUpdateScale and a FailedRescale event', async (t) => {
  const { seam, pass, replicas } = setup();
  seam.usage.set('*', '200m');
  seam.scaleError = 'the object has been modified';
  const status = await pass();
  t.is(replicas(), 2);
  t.like(condition(status, 'AbleToScale'), { status: 'False', reason: 'FailedUpdateScale' });
  t.deepEqual(seam.events, [
    'Warning FailedRescale: New size: 4; reason: cpu resource utilization (percentage of request) above target; error: the object has been modified',
  ]);
  t.is(status.desiredReplicas, 0);
});

test('a target scaled to zero by hand is left there (ScalingDisabled)', async (t) => {
  const { seam, pass, replicas } = setup();
  seam.scales.get('Deployment/web')!.replicas = 0;
  seam.resizePods(0);
  const status = await pass();
  t.is(replicas(), 0);
  t.like(condition(status, 'ScalingActive'), { status: 'False', reason: 'ScalingDisabled' });
});

test('two autoscalers over the same pods: once both have seen them, neither scales (AmbiguousSelector)', async (t) => {
  const { seam, pass, controller, hpa, replicas } = setup();
  seam.usage.set('*', '200m');
  const twin: KubeObject = { ...hpa(), metadata: { ...hpa().metadata, name: 'twin', uid: 'u2' } };
  // the first pass of the first one knows of no other selector yet (upstream's store starts empty too)
  await controller.sync(twin);
  t.is(replicas(), 4);
  seam.usage.set('*', '2');
  seam.statuses.length = 0;
  seam.events.length = 0;
  const status = await pass();
  t.is(replicas(), 4, 'the second one does not scale');
  const message = 'pods by selector app=web are controlled by multiple HPAs: [default/twin default/web]';
  t.like(condition(status, 'ScalingActive'), { status: 'False', reason: 'AmbiguousSelector', message });
  t.deepEqual(seam.events, [
    `Warning AmbiguousSelector: ${message}`,
    `Warning FailedComputeMetricsReplicas: ${message}`,
  ]);
  await controller.sync(twin);
  t.is(replicas(), 4, 'nor does the first one any more');
});

test("a target scale's selector that does not parse: ScalingActive False InvalidSelector", async (t) => {
  const { seam, pass, replicas } = setup();
  seam.scales.get('Deployment/web')!.selector = 'app in (web';
  const status = await pass();
  t.is(replicas(), 2);
  t.like(condition(status, 'ScalingActive'), { status: 'False', reason: 'InvalidSelector' });
  t.true(
    String(condition(status, 'ScalingActive').message).startsWith(
      "couldn't convert selector into a corresponding internal selector object: ",
    ),
  );
});

test('a metric that cannot be read does not stop a scale-up the others ask for, but does stop a scale-down', async (t) => {
  const { seam, clock, pass, replicas } = setup({
    metrics: [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
      { type: 'Pods', pods: { metric: { name: 'queue' }, target: { type: 'AverageValue', averageValue: '10' } } },
    ],
  });
  seam.usage.set('*', '200m');
  let status = await pass();
  t.is(replicas(), 4);
  t.like(condition(status, 'ScalingActive'), { status: 'True', reason: 'ValidMetricFound' });
  t.true(seam.events.some((e) => e.startsWith('Warning FailedGetPodsMetric: unable to get metric queue')));
  seam.usage.set('*', '10m');
  clock.advance(600_000);
  status = await pass();
  t.is(replicas(), 4, 'no scale-down while one metric is unknown');
  t.like(condition(status, 'ScalingActive'), { status: 'False', reason: 'FailedGetPodsMetric' });
});

test('an AverageValue target scales on usage per pod, and reports it as a quantity', async (t) => {
  const { seam, pass, replicas } = setup({
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '50m' } } }],
  });
  seam.usage.set('*', '150m'); // three times the target per pod
  const status = await pass();
  t.is(replicas(), 4, 'six wanted, at most double per pass without behavior');
  t.deepEqual(status.currentMetrics, [
    { type: 'Resource', resource: { name: 'cpu', current: { averageValue: '150m' } } },
  ]);
  t.true(seam.events.at(-1)!.endsWith('New size: 4; reason: cpu resource above target'));
});
