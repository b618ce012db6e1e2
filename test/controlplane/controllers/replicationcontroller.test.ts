/**
 * v1 ReplicationControllers: the planner (pure), the API's defaults and validation, and the
 * controller against a real server with a fake kubelet, then real kubectl (get, describe, scale,
 * delete, cluster-info dump).
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '../../../kube/errors.ts';
import type { KubeObject } from '../../../kube/types.ts';
import type { ResourceRef } from '../../../kube/resource-ref.ts';
import {
  planReplicationController,
  type ReplicationController,
} from '../../../controlplane/controllers/replicationcontroller.ts';
import { waitFor } from '../../helpers/wait.ts';
import { useKubectlBed } from '../kubectl-bed.ts';
import { kubectlReleaseBinaries } from '../kubectl-releases.ts';
import { describe, now, ownerRef, pod } from './fixtures.ts';

const rcs: ResourceRef = { group: '', version: 'v1', resource: 'replicationcontrollers', namespaced: true };
const podsRef: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const bed = useKubectlBed();

function rc(name: string, replicas: number, labels: Record<string, string> = { app: name }): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1, resourceVersion: '1' },
    spec: {
      replicas,
      selector: labels,
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
    },
  };
}

test('planner: pods are made from the template, owned by the RC as its controller, status written to the RC', (t) => {
  const plan = planReplicationController(rc('web', 2), [], now);
  t.deepEqual(describe(plan.actions), ['create 2 pod(s)', 'status replicationcontrollers web']);
  const created = plan.actions[0]!.kind === 'createPods' ? plan.actions[0]!.pods : [];
  t.deepEqual(created[0]!.metadata.ownerReferences, [ownerRef('ReplicationController', 'web', 'v1')]);
  const status = plan.actions[1]!;
  t.deepEqual(
    status.kind === 'updateStatus' ? status.object.spec : undefined,
    rc('web', 2).spec,
    'the RC keeps its map selector',
  );
});

test('planner: the map selector is equality on every label; matching orphans are adopted, others left alone', (t) => {
  const mine = ownerRef('ReplicationController', 'web', 'v1');
  const pods = [
    pod('orphan', { labels: { app: 'web', tier: 'front', extra: 'x' }, node: 'n' }),
    pod('partial', { labels: { app: 'web' }, node: 'n' }),
    pod('released', { owner: mine, labels: { app: 'web', tier: 'back' }, node: 'n' }),
  ];
  const plan = planReplicationController(rc('web', 1, { app: 'web', tier: 'front' }), pods, now);
  t.deepEqual(describe(plan.actions), [
    'update pods orphan',
    'update pods released',
    'status replicationcontrollers web',
  ]);
  const [adopt, release] = plan.actions;
  t.deepEqual(adopt!.kind === 'update' ? adopt!.object.metadata.ownerReferences : undefined, [mine]);
  t.deepEqual(release!.kind === 'update' ? release!.object.metadata.ownerReferences : undefined, []);
});

async function refusal(t: ExecutionContext, object: KubeObject): Promise<ApiError> {
  const err = await t.throwsAsync(bed.client.create(rcs, object), { instanceOf: ApiError });
  t.is(err!.code, 422);
  await t.throwsAsync(
    bed.client.get(rcs, object.metadata.name!, 'default'),
    { message: /not found/ },
    'nothing was stored',
  );
  return err!;
}

test.serial('the API defaults the selector, labels and replicas from the template, as upstream', async (t) => {
  const created = await bed.client.create<ReplicationController>(rcs, {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'defaulted', namespace: 'default' },
    spec: {
      replicas: 0,
      template: {
        metadata: { labels: { app: 'defaulted' } },
        spec: { containers: [{ name: 'app', image: 'busybox' }] },
      },
    },
  });
  t.deepEqual(created.spec.selector, { app: 'defaulted' });
  t.deepEqual(created.metadata.labels, { app: 'defaulted' });
  t.is(created.metadata.generation, 1);
  t.is(created.spec.template?.spec.restartPolicy, 'Always');
  const { replicas: _, ...withoutReplicas } = created.spec;
  const unset = await bed.client.create<ReplicationController>(rcs, {
    ...created,
    metadata: { name: 'one', namespace: 'default' },
    spec: withoutReplicas,
  });
  t.is(unset.spec.replicas, 1);
  await bed.client.delete(rcs, 'one', { namespace: 'default', propagationPolicy: 'Background' });
  await bed.client.delete(rcs, 'defaulted', { namespace: 'default' });
});

test.serial('the API refuses what upstream refuses, in its words', async (t) => {
  const base = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name, namespace: 'default' },
    spec,
  });
  const template = (labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    metadata: { labels },
    spec: { containers: [{ name: 'app', image: 'busybox' }], ...extra },
  });
  t.is(
    (await refusal(t, base('mismatch', { selector: { app: 'a' }, template: template({ app: 'b' }) }))).message,
    'ReplicationController "mismatch" is invalid: spec.template.metadata.labels: Invalid value: {"app":"b"}: `selector` does not match template `labels`',
  );
  t.is(
    (await refusal(t, base('negative', { replicas: -1, template: template({ app: 'n' }) }))).message,
    'ReplicationController "negative" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  );
  t.is(
    (await refusal(t, base('empty', { replicas: 1 }))).message,
    'ReplicationController "empty" is invalid: [spec.selector: Required value, spec.template: Required value]',
  );
  t.is(
    (await refusal(t, base('never', { template: template({ app: 'x' }, { restartPolicy: 'Never' }) }))).message,
    'ReplicationController "never" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
  );
  // The server still answers a well-formed one.
  await bed.client.create(rcs, base('fine', { replicas: 0, template: template({ app: 'fine' }) }));
  await bed.client.delete(rcs, 'fine', { namespace: 'default' });
});

async function podsOf(rcName: string): Promise<KubeObject[]> {
  const list = await bed.client.list(podsRef, { namespace: 'default' });
  return list.items.filter(
    (p) =>
      !p.metadata.deletionTimestamp &&
      p.metadata.ownerReferences?.some((r) => r.kind === 'ReplicationController' && r.name === rcName && r.controller),
  );
}

async function waitForStatus(rcName: string, want: Record<string, number>): Promise<ReplicationController> {
  return waitFor(
    async () => {
      const current = await bed.client.get<ReplicationController>(rcs, rcName, 'default');
      const status = (current.status ?? {}) as Record<string, number>;
      return Object.entries(want).every(([k, v]) => status[k] === v) ? current : undefined;
    },
    { what: `RC ${rcName} status ${JSON.stringify(want)}`, timeoutMs: 20_000, intervalMs: 100 },
  );
}

test.serial(
  'the controller adopts an orphan, creates the rest, follows scale, and the default delete orphans its pods',
  async (t) => {
    await bed.client.create(podsRef, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'stray', namespace: 'default', labels: { app: 'adopt' } },
      spec: { containers: [{ name: 'app', image: 'busybox' }] },
    });
    const created = await bed.client.create<ReplicationController>(rcs, {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'adopt', namespace: 'default' },
      spec: {
        replicas: 3,
        template: { metadata: { labels: { app: 'adopt' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
      },
    });
    const ready = await waitForStatus('adopt', {
      replicas: 3,
      fullyLabeledReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      observedGeneration: 1,
    });
    t.is(ready.metadata.uid, created.metadata.uid);
    const owned = await podsOf('adopt');
    t.is(owned.length, 3);
    t.true(
      owned.some((p) => p.metadata.name === 'stray'),
      'the matching orphan was adopted',
    );
    t.true(
      owned.every(
        (p) =>
          p.metadata.ownerReferences?.[0]?.apiVersion === 'v1' &&
          p.metadata.ownerReferences[0].uid === created.metadata.uid,
      ),
    );

    const scaled = await bed.client.patch<KubeObject>(
      rcs,
      'adopt',
      { spec: { replicas: 1 } },
      { namespace: 'default', subresource: 'scale' },
    );
    t.deepEqual(scaled.status, { replicas: 3, selector: 'app=adopt' });
    await waitForStatus('adopt', { replicas: 1, readyReplicas: 1, observedGeneration: 2 });
    t.is((await podsOf('adopt')).length, 1);

    // No propagationPolicy: v1 RCs keep their pods, released (upstream's default for this version).
    await bed.client.delete(rcs, 'adopt', { namespace: 'default' });
    const released = await waitFor(
      async () => {
        const left = (
          await bed.client.list(podsRef, { namespace: 'default', labelSelector: 'app=adopt' })
        ).items.filter((p) => !p.metadata.deletionTimestamp);
        const gone = await bed.client.get(rcs, 'adopt', 'default').then(
          () => false,
          () => true,
        );
        return gone && left.length === 1 && (left[0]!.metadata.ownerReferences ?? []).length === 0 ? left : undefined;
      },
      { what: 'the RC gone and its pod released', timeoutMs: 20_000, intervalMs: 100 },
    );
    await bed.client.delete(podsRef, released[0]!.metadata.name!, { namespace: 'default', gracePeriodSeconds: 0 });
  },
);

test.serial('kubectl creates, lists, describes, scales and deletes an RC; cluster-info dump succeeds', async (t) => {
  const manifest = bed.file(
    'rc.yaml',
    `apiVersion: v1
kind: ReplicationController
metadata: {name: nginx}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
`,
  );
  await bed.ok(t, 'create', '-f', manifest);
  await waitForStatus('nginx', { readyReplicas: 2 });
  t.regex(await bed.ok(t, 'get', 'rc'), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nnginx\s+2\s+2\s+2\s+/m);
  t.regex(
    await bed.ok(t, 'get', 'rc', 'nginx', '-o', 'wide'),
    /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\nnginx\s+2\s+2\s+2\s+\S+\s+nginx\s+nginx:1\.27\s+app=nginx$/m,
  );
  t.regex(await bed.ok(t, 'get', 'all'), /replicationcontroller\/nginx\s+2\s+2\s+2/);
  const described = await bed.ok(t, 'describe', 'rc', 'nginx');
  t.regex(described, /^Selector:\s+app=nginx$/m);
  t.regex(described, /^Replicas:\s+2 current \/ 2 desired$/m);
  t.regex(described, /^Pods Status:\s+2 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
  t.regex(await bed.ok(t, 'scale', 'rc', 'nginx', '--replicas=3'), /replicationcontroller\/nginx scaled/);
  await waitForStatus('nginx', { replicas: 3, readyReplicas: 3 });

  t.regex(await bed.ok(t, 'delete', 'rc', 'nginx'), /replicationcontroller "nginx" deleted/);
  await waitFor(
    async () =>
      (await bed.client.list(podsRef, { namespace: 'default', labelSelector: 'app=nginx' })).items.length === 0
        ? true
        : undefined,
    {
      what: 'kubectl delete rc to take its pods along',
      timeoutMs: 20_000,
      intervalMs: 100,
    },
  );

  // The dump also fetches every pod's logs, which the fake nodes cannot serve: an RC without pods.
  const idle = (image: string) =>
    `apiVersion: v1\nkind: ReplicationController\nmetadata: {name: idle}\nspec:\n  replicas: 0\n  template:\n    metadata: {labels: {app: idle}}\n    spec:\n      containers: [{name: c, image: ${image}}]\n`;
  await bed.ok(t, 'apply', '-f', bed.file('idle.yaml', idle('busybox:1')));
  t.regex(
    await bed.ok(t, 'apply', '-f', bed.file('idle.yaml', idle('busybox:2'))),
    /replicationcontroller\/idle configured/,
  );
  t.is(
    await bed.ok(
      t,
      'get',
      'rc',
      'idle',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image} {.metadata.generation}',
    ),
    'busybox:2 2',
  );
  const dump = mkdtempSync(join(tmpdir(), `bosun-dump-${process.pid}-`));
  try {
    await bed.ok(t, 'cluster-info', 'dump', '--output-directory', dump);
    const dumped = JSON.parse(readFileSync(join(dump, 'default', 'replication-controllers.json'), 'utf8')) as {
      items: KubeObject[];
    };
    t.deepEqual(
      dumped.items.map((item) => item.metadata.name),
      ['idle'],
    );
  } finally {
    rmSync(dump, { recursive: true, force: true });
  }
  await bed.ok(t, 'delete', 'rc', 'idle');
});

test.serial('every installed kubectl release applies, updates, scales, dumps and deletes an RC', async (t) => {
  for (const { release, binary, installed } of kubectlReleaseBinaries()) {
    if (!installed) {
      t.log(`SKIP kubectl ${release}: ${binary} is not installed`);
      continue;
    }
    const run = async (...args: string[]) => {
      const result = await bed.kubectl(args, { binary });
      t.is(result.code, 0, `kubectl ${release} ${args.join(' ')}: ${result.stderr}`);
      return result.stdout;
    };
    const manifest = (image: string) =>
      bed.file(
        `v${release}.yaml`,
        `apiVersion: v1\nkind: ReplicationController\nmetadata: {name: v${release.replace('.', '-')}}\nspec:\n  replicas: 0\n  template:\n    metadata: {labels: {release: "${release}"}}\n    spec:\n      containers: [{name: c, image: "${image}"}]\n`,
      );
    const name = `rc/v${release.replace('.', '-')}`;
    await run('apply', '-f', manifest('busybox:1'));
    await run('apply', '-f', manifest('busybox:2'));
    t.is(await run('get', name, '-o', 'jsonpath={.spec.template.spec.containers[0].image}'), 'busybox:2', release);
    // kubectl 1.27 sends `spec: {}` for zero replicas (the field is omitempty): zero it is.
    await run('scale', name, '--replicas=0', '--current-replicas=0');
    t.is(await run('get', name, '-o', 'jsonpath={.spec.replicas}'), '0', release);
    const dump = mkdtempSync(join(tmpdir(), `bosun-dump-${process.pid}-`));
    try {
      await run('cluster-info', 'dump', '--output-directory', dump);
    } finally {
      rmSync(dump, { recursive: true, force: true });
    }
    await run('delete', name);
  }
});
