/**
 * The /openapi/v2 protobuf encoding, read back two ways: field by field with the generic wire
 * reader (gnostic's field numbers, written out here, not taken from the encoder's schema), and
 * whole with protobufjs, checking the facts kubectl 1.27/1.28 rely on: kinds tagged with their
 * group/version/kind, and the strategic-merge-patch metadata of PodSpec.containers.
 */
import test from 'ava';
import { negotiateMediaType } from '../../../controlplane/api/media-type-negotiation.ts';
import { openApiV2Document } from '../../../controlplane/api/openapi-v2.ts';
import {
  documentMessage,
  encodeOpenApiV2,
  openApiV2ProtobufType,
} from '../../../controlplane/api/openapi-v2-protobuf.ts';
import { readFields, type RawField } from '../protobuf-wire.ts';

const bytes = encodeOpenApiV2(openApiV2Document('v1.32.0'));
const text = (f: RawField | undefined) => new TextDecoder().decode(f?.bytes);
const field = (fields: RawField[], n: number) => fields.find((f) => f.number === n);
const all = (fields: RawField[], n: number) => fields.filter((f) => f.number === n);

/** Document.definitions (9) -> Definitions.additional_properties (1) -> NamedSchema{name 1, value 2}. */
function definition(name: string): RawField[] {
  const definitions = readFields(field(readFields(bytes), 9)!.bytes!);
  const named = all(definitions, 1)
    .map((f) => readFields(f.bytes!))
    .find((n) => text(field(n, 1)) === name);
  if (named === undefined) throw new Error(`no definition ${name}`);
  return readFields(field(named, 2)!.bytes!);
}

/** Schema.vendor_extension (31) -> NamedAny{name 1, value 2 -> Any{yaml 2}}. */
function extensions(schema: RawField[]): Record<string, unknown> {
  return Object.fromEntries(
    all(schema, 31).map((f) => {
      const named = readFields(f.bytes!);
      return [text(field(named, 1)), JSON.parse(text(field(readFields(field(named, 2)!.bytes!), 2)))];
    }),
  );
}

/** Schema.properties (25) -> Properties.additional_properties (1) -> NamedSchema. */
function property(schema: RawField[], name: string): RawField[] {
  const named = all(readFields(field(schema, 25)!.bytes!), 1)
    .map((f) => readFields(f.bytes!))
    .find((n) => text(field(n, 1)) === name);
  if (named === undefined) throw new Error(`no property ${name}`);
  return readFields(field(named, 2)!.bytes!);
}

test('the document starts with swagger "2.0" as field 1, in the bytes gnostic would write', (t) => {
  t.deepEqual([...bytes.subarray(0, 5)], [0x0a, 3, 0x32, 0x2e, 0x30]);
});

test('kinds carry x-kubernetes-group-version-kind', (t) => {
  t.deepEqual(extensions(definition('io.k8s.api.apps.v1.Deployment'))['x-kubernetes-group-version-kind'], [
    { group: 'apps', version: 'v1', kind: 'Deployment' },
  ]);
  t.deepEqual(extensions(definition('io.k8s.api.core.v1.Pod'))['x-kubernetes-group-version-kind'], [
    { group: '', version: 'v1', kind: 'Pod' },
  ]);
});

test('PodSpec.containers merges by name, and refers to the Container definition', (t) => {
  const containers = property(definition('io.k8s.api.core.v1.PodSpec'), 'containers');
  t.deepEqual(extensions(containers), {
    'x-kubernetes-patch-merge-key': 'name',
    'x-kubernetes-patch-strategy': 'merge',
  });
  // type (22) -> TypeItem.value (1); items (23) -> ItemsItem.schema (1) -> Schema._ref (1)
  t.is(text(field(readFields(field(containers, 22)!.bytes!), 1)), 'array');
  t.is(
    text(field(readFields(field(readFields(field(containers, 23)!.bytes!), 1)!.bytes!), 1)),
    '#/definitions/io.k8s.api.core.v1.Container',
  );
});

test('protobufjs reads back the same definitions, every reference resolving', (t) => {
  const decoded = documentMessage.toObject(documentMessage.decode(bytes)) as {
    definitions: { additionalProperties: { name: string }[] };
  };
  const names = new Set(decoded.definitions.additionalProperties.map((d) => d.name));
  const doc = openApiV2Document('v1.32.0');
  t.deepEqual([...names].sort(), Object.keys(doc.definitions).sort());
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)].map((m) => m[1]!);
  t.true(refs.length > 0);
  t.deepEqual(
    refs.filter((r) => !names.has(r)),
    [],
  );
  t.true(
    names.has('io.k8s.api.apps.v1.DeploymentSpec') && names.has('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'),
  );
});

test('Accept negotiation honours lists, wildcards and q-values', (t) => {
  const offers = ['application/json', openApiV2ProtobufType] as const;
  t.is(negotiateMediaType(undefined, offers), 'application/json');
  t.is(negotiateMediaType(openApiV2ProtobufType, offers), openApiV2ProtobufType);
  t.is(negotiateMediaType(`application/json;q=0.5, ${openApiV2ProtobufType}`, offers), openApiV2ProtobufType);
  t.is(negotiateMediaType(`application/json, ${openApiV2ProtobufType};q=0.9`, offers), 'application/json');
  t.is(negotiateMediaType('*/*', offers), 'application/json');
  t.is(negotiateMediaType(`*/*;q=0.1, ${openApiV2ProtobufType}`, offers), openApiV2ProtobufType);
  t.is(negotiateMediaType('application/*;q=0.2, application/json;q=0', offers), openApiV2ProtobufType);
  t.is(negotiateMediaType('text/html', offers), undefined);
});
