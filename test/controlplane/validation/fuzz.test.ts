/**
 * Seeded fuzzing of every field that reaches a node: random and hostile strings (quotes, newlines,
 * NUL, unicode, `../`, a megabyte) go into each field of an otherwise valid object. Validation
 * never throws; a value outside the field's upstream format is refused at that field's path with a
 * field error, and a value inside it is not. The formats here are written out independently of
 * the module under test, from upstream's definitions.
 */
import test from 'ava';
import { isIPv6 } from 'node:net';
import { validationErrors, type ValidatedResource } from '../../../controlplane/validation/index.ts';
import { rng as random } from '../../netproxy/generate.ts';

type Any = Record<string, any>;

const seed = Number(process.env.FUZZ_SEED ?? 1607);
const roundsPerField = 300;

const pieces = [
  '"',
  "'",
  '\n',
  '\r',
  '\0',
  '\t',
  ' ',
  '../',
  '..',
  '/',
  '\\',
  '$(',
  '`',
  ';',
  ' -j ACCEPT',
  'é',
  '中',
  '😀',
  '\u202e',
  'a',
  'z',
  'q',
  '0',
  '9',
  '1',
  '-',
  '-',
  '.',
  '_',
  'A',
  ':',
  '=',
  '%',
  'http',
  '10.0.0.1',
  '/24',
  '::',
];
const fixedHostile = [
  '',
  ' ',
  '.',
  '..',
  '../../..',
  '/etc/passwd',
  'a\nb',
  'a"b',
  'a\0b',
  'ok\n-A INPUT -j ACCEPT',
  '..data',
  'a/../../b',
  'x'.repeat(1 << 20),
  '../'.repeat(20000),
  'ä',
  'a'.repeat(64),
  '-a',
  'a-',
  'a--b',
  '0',
  '1234',
];

function hostileStrings(next: () => number): string[] {
  const out = [...fixedHostile];
  while (out.length < roundsPerField) {
    const length = Math.floor(next() * 12);
    let text = '';
    for (let i = 0; i < length; i++) text += pieces[Math.floor(next() * pieces.length)];
    out.push(text);
  }
  return out;
}

// Upstream's formats, from apimachinery's util/validation and core validation.
const dnsLabel = (v: string) => v.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v);
const ianaName = (v: string) =>
  v.length <= 15 &&
  /^[-a-z0-9]+$/.test(v) &&
  /[a-z]/.test(v) &&
  !v.includes('--') &&
  !v.startsWith('-') &&
  !v.endsWith('-');
const labelValue = (v: string) => v.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v);
const envName = (v: string) => v !== '' && [...v].every((c) => c >= ' ' && c <= '~' && c !== '=');
const noBacksteps = (v: string) => !v.split('/').includes('..');
const relativeDescending = (v: string) => !v.startsWith('/') && noBacksteps(v);
const itemPath = (v: string) => v !== '' && relativeDescending(v) && !(v.startsWith('..') && !v.startsWith('../'));
const ipv4 = (v: string) => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(v);
const cidr = (v: string) => {
  const [address, bits, extra] = v.split('/');
  if (extra !== undefined || bits === undefined || !/^(0|[1-9]\d{0,2})$/.test(bits)) return false;
  return (ipv4(address!) && Number(bits) <= 32) || (isIPv6(address!) && !address!.includes('%') && Number(bits) <= 128);
};

const pod = (spec: Any = {}, container: Any = {}) => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'img:1', ...container }], ...spec },
});
const service = (port: Any) => ({
  metadata: { name: 's', namespace: 'default' },
  spec: { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP', ...port }] },
});
const slice = (endpoint: Any, port: Any = {}) => ({
  metadata: { name: 'e', namespace: 'default' },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.0.0.1'], ...endpoint }],
  ports: [{ port: 80, protocol: 'TCP', ...port }],
});

const info = (group: string, resource: string, kind: string, namespaced = true): ValidatedResource => ({
  group,
  resource,
  kind,
  namespaced,
});
const pods = info('', 'pods', 'Pod');
const services = info('', 'services', 'Service');
const slices = info('discovery.k8s.io', 'endpointslices', 'EndpointSlice');
const nodes = info('', 'nodes', 'Node', false);

interface StringField {
  readonly resource: ValidatedResource;
  readonly field: string;
  readonly build: (value: string) => Any;
  /** Whether upstream stores the value. */
  readonly accepts: (value: string) => boolean;
}

const stringFields: StringField[] = [
  {
    resource: pods,
    field: 'spec.volumes[0].name',
    build: (v) => pod({ volumes: [{ name: v, emptyDir: {} }] }),
    accepts: dnsLabel,
  },
  {
    resource: pods,
    field: 'spec.containers[0].volumeMounts.subPath',
    build: (v) =>
      pod({ volumes: [{ name: 'v', emptyDir: {} }] }, { volumeMounts: [{ name: 'v', mountPath: '/m', subPath: v }] }),
    accepts: relativeDescending,
  },
  {
    resource: pods,
    field: 'spec.containers[0].volumeMounts.subPathExpr',
    build: (v) =>
      pod(
        { volumes: [{ name: 'v', emptyDir: {} }] },
        { volumeMounts: [{ name: 'v', mountPath: '/m', subPathExpr: v }] },
      ),
    accepts: relativeDescending,
  },
  // Upstream asks only that a mountPath is given; the node refuses the rest where it mounts.
  {
    resource: pods,
    field: 'spec.containers[0].volumeMounts[0].mountPath',
    build: (v) => pod({ volumes: [{ name: 'v', emptyDir: {} }] }, { volumeMounts: [{ name: 'v', mountPath: v }] }),
    accepts: (v) => v !== '',
  },
  {
    resource: pods,
    field: 'spec.volumes[0].configMap.items[0].path',
    build: (v) => pod({ volumes: [{ name: 'v', configMap: { name: 'c', items: [{ key: 'k', path: v }] } }] }),
    accepts: itemPath,
  },
  {
    resource: pods,
    field: 'spec.volumes[0].secret.items[0].path',
    build: (v) => pod({ volumes: [{ name: 'v', secret: { secretName: 's', items: [{ key: 'k', path: v }] } }] }),
    accepts: itemPath,
  },
  {
    resource: pods,
    field: 'spec.volumes[0].projected.sources[0].downwardAPI.items[0].path',
    build: (v) =>
      pod({
        volumes: [
          {
            name: 'v',
            projected: {
              sources: [{ downwardAPI: { items: [{ path: v, fieldRef: { fieldPath: 'metadata.name' } }] } }],
            },
          },
        ],
      }),
    accepts: itemPath,
  },
  {
    resource: pods,
    field: 'spec.volumes[0].hostPath.path',
    build: (v) => pod({ volumes: [{ name: 'v', hostPath: { path: v } }] }),
    accepts: (v) => v !== '' && noBacksteps(v),
  },
  { resource: pods, field: 'spec.containers[0].name', build: (v) => pod({}, { name: v }), accepts: dnsLabel },
  {
    resource: pods,
    field: 'spec.containers[0].ports[0].name',
    build: (v) => pod({}, { ports: [{ containerPort: 80, name: v }] }),
    accepts: (v) => v === '' || ianaName(v),
  },
  {
    resource: pods,
    field: 'spec.containers[0].env[0].name',
    build: (v) => pod({}, { env: [{ name: v, value: 'x' }] }),
    accepts: envName,
  },
  {
    resource: pods,
    field: 'spec.containers[0].image',
    build: (v) => pod({}, { image: v }),
    accepts: (v) => v.trim() !== '',
  },
  {
    resource: pods,
    field: 'metadata.labels',
    build: (v) => ({ ...pod(), metadata: { name: 'p', namespace: 'default', labels: { app: v } } }),
    accepts: labelValue,
  },
  {
    resource: services,
    field: 'spec.ports[0].name',
    build: (v) => service({ name: v }),
    accepts: (v) => v === '' || dnsLabel(v),
  },
  {
    resource: services,
    field: 'spec.ports[0].protocol',
    build: (v) => service({ protocol: v }),
    accepts: (v) => ['TCP', 'UDP', 'SCTP'].includes(v),
  },
  {
    resource: services,
    field: 'spec.ports[0].targetPort',
    build: (v) => service({ targetPort: v }),
    accepts: (v) => v === '' || (/^\d+$/.test(v) ? false : ianaName(v)),
  },
  { resource: slices, field: 'endpoints[0].addresses[0]', build: (v) => slice({ addresses: [v] }), accepts: ipv4 },
  {
    resource: slices,
    field: 'endpoints[0].hostname',
    build: (v) => slice({ hostname: v }),
    accepts: (v) => v === '' || dnsLabel(v),
  },
  {
    resource: slices,
    field: 'ports[0].name',
    build: (v) => slice({}, { name: v }),
    accepts: (v) => v === '' || dnsLabel(v),
  },
  {
    resource: slices,
    field: 'ports[0].protocol',
    build: (v) => slice({}, { protocol: v }),
    accepts: (v) => v === '' || ['TCP', 'UDP', 'SCTP'].includes(v),
  },
  {
    resource: nodes,
    field: 'spec.podCIDR',
    build: (v) => ({ metadata: { name: 'n' }, spec: { podCIDR: v } }),
    accepts: (v) => v === '' || cidr(v),
  },
  {
    resource: nodes,
    field: 'spec.podCIDRs[0]',
    build: (v) => ({ metadata: { name: 'n' }, spec: { podCIDRs: [v] } }),
    accepts: cidr,
  },
];

/** The causes at one field (labels report at the map's path), never an exception. */
function causesAt(resource: ValidatedResource, object: Any, field: string) {
  return validationErrors(resource, object).causes.filter((c) => c.field === field);
}

for (const [index, spec] of stringFields.entries()) {
  test(`fuzz: ${spec.resource.kind} ${spec.field}`, (t) => {
    const values = hostileStrings(random(seed + index));
    let refused = 0;
    for (const value of values) {
      const causes = causesAt(spec.resource, spec.build(value), spec.field);
      const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...(${value.length})` : value);
      if (spec.accepts(value)) {
        t.deepEqual(causes, [], `accepted by upstream, refused here: ${shown}`);
      } else {
        refused += 1;
        t.true(causes.length > 0, `refused by upstream, accepted here: ${shown}`);
        for (const cause of causes)
          t.true(
            ['FieldValueInvalid', 'FieldValueRequired', 'FieldValueNotSupported'].includes(cause.reason!),
            `${shown}: ${cause.reason}`,
          );
      }
    }
    t.log(`seed ${seed + index}: ${values.length} values, ${refused} refused`);
  });
}

/** Port numbers: integers in range pass; every other JSON value is a field error, never a throw. */
const portValues: unknown[] = [
  1,
  80,
  65535,
  0,
  -1,
  65536,
  1.5,
  Number.MAX_SAFE_INTEGER,
  '80',
  'http',
  '',
  true,
  null,
  [],
  {},
  [80],
  { port: 80 },
  '80\n',
  1e300,
];
const portFields: Array<{
  resource: ValidatedResource;
  field: string;
  build: (value: unknown) => Any;
  absentOk: boolean;
}> = [
  {
    resource: pods,
    field: 'spec.containers[0].ports[0].containerPort',
    build: (v) => pod({}, { ports: [{ containerPort: v }] }),
    absentOk: false,
  },
  { resource: services, field: 'spec.ports[0].port', build: (v) => service({ port: v }), absentOk: false },
  { resource: slices, field: 'ports[0].port', build: (v) => slice({}, { port: v }), absentOk: true },
];

for (const spec of portFields) {
  test(`fuzz: ${spec.resource.kind} ${spec.field} with every JSON type`, (t) => {
    const next = random(seed);
    const values = [...portValues, ...Array.from({ length: 100 }, () => Math.floor(next() * 140000) - 70000)];
    for (const value of values) {
      const causes = causesAt(spec.resource, spec.build(value), spec.field);
      const fine = Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
      const absent = value === null && spec.absentOk;
      if (fine || absent) t.deepEqual(causes, [], JSON.stringify(value));
      else t.true(causes.length > 0, `accepted: ${JSON.stringify(value)}`);
    }
  });
}
