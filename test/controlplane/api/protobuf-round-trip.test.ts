/**
 * Every served kind, every field: a full sample object (each field of field-schema.json set to a
 * non-zero value of its OpenAPI format) goes JSON → protobuf → JSON and must come back identical.
 * A field the protobuf schema lacks, or maps wrongly, shows up as a difference at its path.
 */
import test from 'ava';
import * as models from '@kubernetes/client-node';
import fieldSchema from '../../../controlplane/api/field-schema.json' with { type: 'json' };
import {
  canEncodeProtobuf,
  decodeProtobufObject,
  decodeProtobufWatchEvents,
  encodeProtobufObject,
  encodeProtobufWatchEvent,
} from '../../../controlplane/api/protobuf/envelope.ts';
import { wantsProtobuf } from '../../../controlplane/api/protobuf/negotiate.ts';
import { compileDescriptor } from '../../../controlplane/api/protobuf/schema/compile.ts';
import { readFileSync } from 'node:fs';

type Attribute = { readonly baseName: string; readonly type: string; readonly format: string };
const modelsByName = models as unknown as Record<
  string,
  { getAttributeTypeMap?: () => readonly Attribute[] } | undefined
>;
const schema = fieldSchema as { kinds: Record<string, string>; types: Record<string, Record<string, string>> };

/** A non-zero JSON value of a scalar in its OpenAPI type and format. */
function scalarSample(attribute: Attribute | undefined, path: string): unknown {
  const type = attribute?.type ?? 'string';
  const format = attribute?.format ?? '';
  if (type === 'V1MicroTime' || format === 'date-time-micro') return '2024-05-06T07:08:09.123456Z';
  if (type === 'Date' || format === 'date-time') return '2024-05-06T07:08:09Z';
  if (format === 'byte') return Buffer.from(`bytes of ${path}`).toString('base64');
  if (format === 'int-or-string') return path.length % 2 === 0 ? 8080 : 'http';
  if (type === 'number') return format === 'double' ? 1.5 : 7;
  if (type === 'boolean') return true;
  return `value of ${path}`;
}

function elementSample(
  fieldType: string,
  attribute: Attribute | undefined,
  path: string,
  depth: number,
  above: ReadonlySet<string> = new Set(),
): unknown {
  if (fieldType.startsWith('[]')) {
    const inner = fieldType.slice(2);
    if (inner === '' && attribute?.type === 'Array<number>') return [3, 4];
    return [elementSample(inner, attribute, `${path}[0]`, depth, above)];
  }
  if (fieldType.startsWith('{}')) {
    const inner = fieldType.slice(2);
    if (inner === '' && /Array<string>/.test(attribute?.type ?? '')) return { key: ['a', 'b'] };
    return { key: elementSample(inner, attribute, `${path}.key`, depth, above) };
  }
  if (fieldType === '*')
    return (
      Object.entries(freeFormSamples).find(([end]) => path.endsWith(`.${end}`))?.[1] ?? { any: { nested: ['json'] } }
    );
  if (fieldType === '') return scalarSample(attribute, path);
  return objectSample(fieldType, path, depth + 1, above);
}

/**
 * Free-form fields whose JSON is one of two shapes that the protobuf schema holds apart (a CRD
 * schema's unions), sampled in one shape each; every other free-form field is any JSON value.
 */
const freeFormSamples: Readonly<Record<string, unknown>> = {
  items: [{ type: 'string' }, { type: 'integer', format: 'int32' }],
  additionalProperties: false,
  additionalItems: { type: 'string', maxLength: 0 },
  'dependencies.key': ['other', 'fields'],
  status: {},
};

function embedsTypeMeta(model: string): boolean {
  const fields = schema.types[model] ?? {};
  return (
    'apiVersion' in fields && 'kind' in fields && (fields.metadata === 'V1ObjectMeta' || model === 'V1DeleteOptions')
  );
}

function objectSample(
  model: string,
  path: string,
  depth: number,
  above: ReadonlySet<string> = new Set(),
): Record<string, unknown> {
  const fields = schema.types[model] ?? {};
  const attributes = new Map((modelsByName[model]?.getAttributeTypeMap?.() ?? []).map((a) => [a.baseName, a]));
  const out: Record<string, unknown> = {};
  // a type that holds itself (a CRD's JSONSchemaProps) is filled once on each path, not without end
  if (depth > 12 || above.has(model)) return out;
  const below = new Set([...above, model]);
  for (const [name, fieldType] of Object.entries(fields)) {
    // objects embedded in others (a StatefulSet's claim templates, an Eviction's DeleteOptions) lose
    // their apiVersion and kind in upstream's protobuf too: TypeMeta has no field number there
    if ((name === 'apiVersion' || name === 'kind') && embedsTypeMeta(model)) continue;
    out[name] = elementSample(fieldType, attributes.get(name), `${path}.${name}`, depth, below);
  }
  return out;
}

function sampleOf(key: string, model: string): Record<string, unknown> {
  const [group, version, kind] = key.split('/') as [string, string, string];
  return { apiVersion: group === '' ? version : `${group}/${version}`, kind, ...objectSample(model, kind, 0) };
}

/** Paths where two JSON values differ (for a readable failure). */
function differences(want: unknown, got: unknown, path: string, out: string[]): string[] {
  if (typeof want === 'object' && want !== null && typeof got === 'object' && got !== null) {
    for (const key of new Set([...Object.keys(want), ...Object.keys(got)])) {
      differences((want as Record<string, unknown>)[key], (got as Record<string, unknown>)[key], `${path}.${key}`, out);
    }
  } else if (JSON.stringify(want) !== JSON.stringify(got)) {
    out.push(`${path}: sent ${JSON.stringify(want)}, got back ${JSON.stringify(got)}`);
  }
  return out;
}

test('every field of every served kind survives JSON → protobuf → JSON', (t) => {
  const kinds = Object.entries(schema.kinds);
  t.true(kinds.length >= 30, 'field-schema.json lists the served kinds');
  const lost: string[] = [];
  for (const [key, model] of kinds) {
    const sample = sampleOf(key, model);
    const back = decodeProtobufObject(encodeProtobufObject(sample));
    differences(sample, back, key, lost);
  }
  t.deepEqual(lost, []);
  t.log(
    `${kinds.length} kinds, ${kinds.reduce((sum, [key, model]) => sum + leafCount(sampleOf(key, model)), 0)} field values`,
  );
});

function leafCount(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 1;
  return Object.values(value).reduce((sum: number, inner) => sum + leafCount(inner), 0);
}

test('zero values come back as Go would marshal them: pointers and non-omitempty fields kept, the rest left out', (t) => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', generateName: '' },
    spec: {
      replicas: 0,
      minReadySeconds: 0,
      paused: false,
      template: {
        spec: { hostNetwork: false, containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 0 }] }] },
      },
    },
    status: { replicas: 0 },
  };
  const back = decodeProtobufObject(encodeProtobufObject(deployment));
  t.deepEqual(back, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { replicas: 0, template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] } } },
    status: {},
  });
});

test('lists and watch events travel in the envelope, with their list metadata and event types', (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'a', namespace: 'default', resourceVersion: '12' },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  };
  const list = {
    apiVersion: 'v1',
    kind: 'PodList',
    metadata: { resourceVersion: '12', continue: 'token' },
    items: [{ metadata: pod.metadata, spec: pod.spec }],
  };
  t.deepEqual(decodeProtobufObject(encodeProtobufObject(list)), list);
  const stream = Buffer.concat([
    encodeProtobufWatchEvent('ADDED', pod),
    encodeProtobufWatchEvent('BOOKMARK', { apiVersion: 'v1', kind: 'Pod', metadata: { resourceVersion: '13' } }),
  ]);
  t.is(
    stream.readUInt32BE(0) + 4,
    encodeProtobufWatchEvent('ADDED', pod).length,
    'each event is prefixed by its length',
  );
  t.deepEqual(decodeProtobufWatchEvents(stream), [
    { type: 'ADDED', object: pod },
    { type: 'BOOKMARK', object: { apiVersion: 'v1', kind: 'Pod', metadata: { resourceVersion: '13' } } },
  ]);
});

test('protobuf is chosen only when the client prefers it over JSON and asks for no conversion', (t) => {
  t.true(wantsProtobuf('application/vnd.kubernetes.protobuf, */*'));
  t.true(wantsProtobuf('application/vnd.kubernetes.protobuf;stream=watch'));
  t.false(wantsProtobuf('application/json, application/vnd.kubernetes.protobuf'));
  t.false(wantsProtobuf('application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json'));
  t.false(wantsProtobuf(undefined));
});

test('kubernetes.json is the compiled form of the .proto files beside it', (t) => {
  t.is(
    readFileSync(new URL('../../../controlplane/api/protobuf/schema/kubernetes.json', import.meta.url), 'utf8'),
    compileDescriptor(),
  );
});

test('only built-in groups use the schema: a custom resource named like a built-in kind stays JSON', (t) => {
  t.true(canEncodeProtobuf({ apiVersion: 'apps/v1', kind: 'Deployment' }));
  t.true(canEncodeProtobuf({ apiVersion: 'v1', kind: 'Status' }));
  t.false(canEncodeProtobuf({ apiVersion: 'apps.example.com/v1', kind: 'Deployment' }));
  t.false(canEncodeProtobuf({ apiVersion: 'apps/v1beta1', kind: 'Deployment' }));
  t.false(canEncodeProtobuf({ apiVersion: 'example.com/v1', kind: 'Widget' }));
});
