/**
 * ?fieldValidation=Strict|Warn|Ignore: the pure checks by table, then real kubectl (which sends
 * Strict by default, Ignore with --validate=false, Warn with --validate=warn).
 */
import test, { type ExecutionContext } from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import { duplicateFields, pruneUnknownFields } from '../../../controlplane/api/field-validation.ts';
import { useKubectlBed } from '../kubectl-bed.ts';

test('duplicateFields finds repeated keys at any depth, with list indexes', (t) => {
  t.deepEqual(duplicateFields('{"a":1,"b":{"c":[{"d":1,"d":2}],"c":3},"a":"x\\"y"}'), ['b.c[0].d', 'b.c', 'a']);
  t.deepEqual(
    duplicateFields('{"a":[],"b":{},"c":"{\\"a\\":1,\\"a\\":2}"}'),
    [],
    'escaped JSON inside a string is a string',
  );
  t.deepEqual(duplicateFields('not json'), []);
});

test('pruneUnknownFields removes and names unknown fields, keeps maps and free-form fields', (t) => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      labels: { 'any-key': 'v' },
      managedFields: [{ manager: 'm', fieldsV1: { 'f:spec': {} } }],
    },
    spec: {
      replicas: 1,
      foo: 1,
      template: {
        spec: {
          containers: [{ name: 'c', image: 'x', imagee: 'y', resources: { limits: { cpu: '1' } } }],
          nodeSelector: { a: 'b' },
        },
      },
    },
  };
  t.deepEqual(pruneUnknownFields('apps', 'v1', 'Deployment', deployment), [
    'spec.foo',
    'spec.template.spec.containers[0].imagee',
  ]);
  t.false('foo' in deployment.spec);
  t.false('imagee' in deployment.spec.template.spec.containers[0]!);
  t.deepEqual(deployment.metadata.managedFields[0]!.fieldsV1, { 'f:spec': {} });
  t.deepEqual(
    pruneUnknownFields('example.com', 'v1', 'Widget', { spec: { anything: 1 } }),
    [],
    'kinds without a schema are left alone',
  );
});

const bed = useKubectlBed({ controllers: false });

const deployment = (name: string, containerExtra: string, specExtra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1${specExtra}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: a, operator: Exists}]}]}}}
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule}]
      containers:
      - name: c
        image: busybox:1.36
        resources: {requests: {cpu: 10m, memory: 16Mi}}
        readinessProbe: {httpGet: {path: /, port: 80}}
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]${containerExtra}
`;

async function get(t: ExecutionContext, kind: string, name: string): Promise<KubeObject> {
  const result = await bed.kubectl(['get', kind, name, '-o', 'json']);
  t.is(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as KubeObject;
}

test.serial('kubectl apply of a full manifest passes Strict validation', async (t) => {
  const result = await bed.kubectl(['apply', '-f', bed.file('full.yaml', deployment('full', ''))]);
  t.is(result.code, 0, result.stderr);
  t.is(result.stderr, '', 'no warnings for known fields');
});

test.serial(
  'kubectl apply with a misspelt field fails with the strict decoding error and stores nothing',
  async (t) => {
    const result = await bed.kubectl([
      'apply',
      '-f',
      bed.file('typo.yaml', deployment('typo', '\n        imagee: oops', '\n  replica: 3')),
    ]);
    t.not(result.code, 0);
    t.regex(
      result.stderr,
      /strict decoding error: unknown field "spec\.replica", unknown field "spec\.template\.spec\.containers\[0\]\.imagee"/,
    );
    t.regex(result.stderr, /BadRequest/);
    t.is((await bed.kubectl(['get', 'deployment', 'typo'])).code, 1, 'nothing was stored');
  },
);

test.serial('--validate=false stores the object without the unknown field; --validate=warn warns', async (t) => {
  const ignored = await bed.kubectl([
    'apply',
    '--validate=false',
    '-f',
    bed.file('typo.yaml', deployment('typo', '\n        imagee: oops')),
  ]);
  t.is(ignored.code, 0, ignored.stderr);
  t.is(ignored.stderr, '');
  const stored = await get(t, 'deployment', 'typo');
  t.false(
    'imagee' in
      ((stored.spec as { template: { spec: { containers: object[] } } }).template.spec.containers[0] as object),
  );
  const warned = await bed.kubectl([
    'apply',
    '--validate=warn',
    '-f',
    bed.file('warn.yaml', deployment('warn', '\n        imagee: oops')),
  ]);
  t.is(warned.code, 0, warned.stderr);
  t.regex(warned.stderr, /Warning: unknown field "spec\.template\.spec\.containers\[0\]\.imagee"/);
});

test.serial('a patch through kubectl apply is validated too', async (t) => {
  const result = await bed.kubectl([
    'apply',
    '-f',
    bed.file('full.yaml', deployment('full', '\n        imagee: oops')),
  ]);
  t.not(result.code, 0);
  t.regex(
    result.stderr,
    /error when patching .*strict decoding error: unknown field "spec\.template\.spec\.containers\[0\]\.imagee"/s,
  );
});

test.serial('duplicate fields are refused under Strict and dropped to the last value under Warn', async (t) => {
  const body =
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup"},"data":{"a":"1"},"data":{"a":"2"}}';
  const strict = await bed.kubectl([
    'create',
    '--raw',
    '/api/v1/namespaces/default/configmaps?fieldValidation=Strict',
    '-f',
    bed.file('dup.json', body),
  ]);
  t.not(strict.code, 0);
  t.regex(strict.stderr, /strict decoding error: duplicate field "metadata\.name", duplicate field "data"/);
  const warn = await bed.kubectl([
    'create',
    '--raw',
    '/api/v1/namespaces/default/configmaps?fieldValidation=Warn',
    '-f',
    bed.file('dup.json', body),
  ]);
  t.is(warn.code, 0, warn.stderr);
  t.regex(warn.stderr, /Warning: duplicate field "data"/);
  t.deepEqual((await get(t, 'configmap', 'dup')).data, { a: '2' });
});

test.serial('a nonsense fieldValidation value is refused as upstream refuses it (422 CreateOptions)', async (t) => {
  const result = await bed.kubectl([
    'create',
    '--raw',
    '/api/v1/namespaces/default/configmaps?fieldValidation=Loud',
    '-f',
    bed.file('cm.json', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}'),
  ]);
  t.not(result.code, 0);
  t.regex(
    result.stderr,
    /The CreateOptions "" is invalid: fieldValidation: Unsupported value: "Loud": supported values: "", "Ignore", "Strict", "Warn"/,
  );
});
