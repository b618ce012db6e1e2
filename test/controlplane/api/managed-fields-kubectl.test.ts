/**
 * managedFields as real kubectl sees them: what `kubectl create`, `replace`, `patch` and a status
 * patch record, and a later `kubectl apply --server-side` that changes a created field conflicts
 * with `kubectl-create` until `--force-conflicts`, as against an upstream API server.
 */
import test from 'ava';
import { useKubectlBed } from '../kubectl-bed.ts';

const bed = useKubectlBed({ controllers: false });

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time: string;
  fieldsType: string;
  fieldsV1: Record<string, any>;
  subresource?: string;
}

const managedFields = async (t: Parameters<typeof bed.ok>[0], ...target: string[]): Promise<Entry[]> =>
  (
    JSON.parse(await bed.ok(t, 'get', ...target, '-o', 'json', '--show-managed-fields')) as {
      metadata: { managedFields: Entry[] };
    }
  ).metadata.managedFields;

test('create → replace → patch → status patch: each kubectl command owns what it changed', async (t) => {
  await bed.ok(t, 'create', 'deployment', 'seq', '--image=nginx:1');
  const afterCreate = await managedFields(t, 'deployment', 'seq');
  t.deepEqual(
    afterCreate.map((e) => [e.manager, e.operation, e.apiVersion, e.fieldsType]),
    [['kubectl-create', 'Update', 'apps/v1', 'FieldsV1']],
  );
  t.deepEqual(
    Object.keys(afterCreate[0]!).sort(),
    ['apiVersion', 'fieldsType', 'fieldsV1', 'manager', 'operation', 'time'],
    "upstream's shape",
  );
  t.regex(afterCreate[0]!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.deepEqual(afterCreate[0]!.fieldsV1['f:spec']['f:template']['f:spec']['f:containers'], {
    'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:resources': {} },
  });

  const live = JSON.parse(await bed.ok(t, 'get', 'deployment', 'seq', '-o', 'json')) as {
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  live.spec.template.spec.containers[0]!.image = 'nginx:2';
  await bed.ok(t, 'replace', '-f', bed.file('seq.json', JSON.stringify(live)));
  await bed.ok(t, 'patch', 'deployment', 'seq', '--type=merge', '-p', '{"spec":{"replicas":2}}');
  await bed.ok(
    t,
    'patch',
    'deployment',
    'seq',
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"replicas":2}}',
  );

  // Stored oldest first by whole seconds, then by manager: these writes may share one second.
  const byManager = (a: Entry, b: Entry) =>
    `${a.manager}/${a.subresource ?? ''}`.localeCompare(`${b.manager}/${b.subresource ?? ''}`);
  const entries = (await managedFields(t, 'deployment', 'seq')).sort(byManager);
  t.deepEqual(
    entries.map((e) => [e.manager, e.operation, e.subresource ?? '']),
    [
      ['kubectl-create', 'Update', ''],
      ['kubectl-patch', 'Update', ''],
      ['kubectl-patch', 'Update', 'status'],
      ['kubectl-replace', 'Update', ''],
    ],
  );
  const [create, patch, status, replace] = entries as [Entry, Entry, Entry, Entry];
  t.deepEqual(replace.fieldsV1, {
    'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { 'f:image': {} } } } } },
  });
  t.deepEqual(patch.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  t.deepEqual(status.fieldsV1, { 'f:status': { 'f:replicas': {} } });
  const createdFields = JSON.stringify(create.fieldsV1);
  t.false(
    createdFields.includes('f:image') || createdFields.includes('f:replicas'),
    'the later writers took the image and the replicas',
  );
  t.true(createdFields.includes('f:name'));
});

test('kubectl apply --server-side changing a created field conflicts with kubectl-create; --force-conflicts takes it', async (t) => {
  await bed.ok(t, 'create', 'deployment', 'web', '--image=nginx:1');
  const manifest = bed.file(
    'web.yaml',
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1
`,
  );
  const refused = await bed.kubectl(['apply', '--server-side', '-f', manifest]);
  t.not(refused.code, 0);
  t.regex(
    refused.stderr,
    /Apply failed with 1 conflict: conflict with "kubectl-create" using apps\/v1: \.spec\.replicas/,
  );
  t.is(
    await bed.ok(t, 'get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}'),
    '1',
    'the refused apply changed nothing',
  );

  await bed.ok(t, 'apply', '--server-side', '--force-conflicts', '-f', manifest);
  t.is(await bed.ok(t, 'get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}'), '3');
  const entries = await managedFields(t, 'deployment', 'web');
  t.deepEqual(
    entries.map((e) => [e.manager, e.operation]),
    [
      ['kubectl', 'Apply'],
      ['kubectl-create', 'Update'],
    ],
  );
  t.true(JSON.stringify(entries[0]!.fieldsV1).includes('f:replicas'));
  t.false(JSON.stringify(entries[1]!.fieldsV1).includes('f:replicas'), 'forcing moved replicas to the applier');
  t.regex(await bed.ok(t, 'get', 'namespaces'), /default/, 'the server still answers');
});

test('kubectl apply, then kubectl apply --server-side with a new value: the client-side apply fields move without conflict', async (t) => {
  const manifest = (value: string, extra = '') =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: moved\ndata:\n  a: "${value}"\n${extra}`;
  await bed.ok(t, 'apply', '-f', bed.file('csa.yaml', manifest('1')));
  await bed.ok(t, 'apply', '--server-side', '-f', bed.file('ssa.yaml', manifest('2')));
  t.is(await bed.ok(t, 'get', 'configmap', 'moved', '-o', 'jsonpath={.data.a}'), '2');
  const entries = await managedFields(t, 'configmap', 'moved');
  t.true(
    JSON.stringify(entries.find((e) => e.manager === 'kubectl')?.fieldsV1).includes('f:a'),
    "kubectl's apply owns the value now",
  );
  // A field the annotation does not name (set by someone else) still conflicts.
  await bed.ok(t, 'patch', 'configmap', 'moved', '--type=merge', '-p', '{"data":{"b":"x"}}');
  const refused = await bed.kubectl([
    'apply',
    '--server-side',
    '-f',
    bed.file('ssa2.yaml', manifest('2', '  b: "y"\n')),
  ]);
  t.regex(refused.stderr, /Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: \.data\.b/);
});
