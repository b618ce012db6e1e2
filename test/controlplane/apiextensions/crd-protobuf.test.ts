/**
 * CustomResourceDefinitions in protobuf, as upstream serves its built-in apiextensions kinds: the
 * bytes carry upstream's field numbers (generated.proto of apiextensions-apiserver), a schema's
 * unions (items: one schema or a list, additionalProperties: a boolean or a schema, dependencies:
 * a schema or property names) come back in the shape they were sent, and a client that prefers
 * protobuf gets it for get, list and watch, and may send a definition in protobuf. Custom resources
 * themselves stay JSON and YAML only: protobuf alone is upstream's 406, protobuf or JSON is JSON.
 */
import test from 'ava';
import {
  decodeProtobufObject,
  decodeProtobufWatchEvents,
  encodeProtobufObject,
} from '../../../controlplane/api/protobuf/envelope.ts';
import { readFields, type RawField } from '../protobuf-wire.ts';
import { adminIdentity, call, callBytes, namespaceAdmin, type Identity } from '../server-process.ts';
import { sharedInProcess } from '../in-process.ts';
import { waitFor } from '../ports.ts';
import { backupGroup, backupSchedules } from './fixtures.ts';

type Json = Record<string, any>;

const crds = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const protobufFirst = { Accept: 'application/vnd.kubernetes.protobuf, */*' };

/** A definition that uses every shape of a schema's unions and each renamed field. */
const shapes: Json = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'shapes.wire.bosun.test' },
  spec: {
    group: 'wire.bosun.test',
    scope: 'Cluster',
    names: { plural: 'shapes', singular: 'shape', kind: 'Shape', listKind: 'ShapeList' },
    conversion: { strategy: 'None' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        selectableFields: [{ jsonPath: '.spec.colour' }],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['colour'],
                'x-kubernetes-validations': [
                  {
                    rule: 'self.sides >= 0',
                    messageExpression: "'sides: ' + string(self.sides)",
                    reason: 'FieldValueInvalid',
                  },
                  { rule: 'self.colour == oldSelf.colour', optionalOldSelf: false, fieldPath: '.colour' },
                ],
                properties: {
                  colour: { type: 'string', enum: ['red', 'green'], default: 'red' },
                  sides: { type: 'integer', minimum: 0, maximum: 12, default: 0, exclusiveMaximum: true },
                  corners: { type: 'array', items: { type: 'string', maxLength: 0 }, 'x-kubernetes-list-type': 'set' },
                  closed: { type: 'object', additionalProperties: false },
                  labels: {
                    type: 'object',
                    additionalProperties: { type: 'string' },
                    'x-kubernetes-map-type': 'granular',
                  },
                  size: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
                  raw: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, nullable: true },
                  ports: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['port'],
                    items: { type: 'object', required: ['port'], properties: { port: { type: 'integer' } } },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

/**
 * The same with what a served definition may not hold but the wire must carry: items as a list of
 * schemas (refused by structural-schema validation) and preserveUnknownFields (refused in v1).
 */
const wireShapes: Json = structuredClone(shapes);
wireShapes.spec.preserveUnknownFields = true;
wireShapes.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.tuple = {
  type: 'array',
  items: [{ type: 'string' }, { type: 'integer' }],
};

const field = (fields: RawField[], n: number) => fields.find((f) => f.number === n);
const fieldsAt = (fields: RawField[], ...path: number[]): RawField[] =>
  path.reduce((inner, n) => readFields(field(inner, n)!.bytes!), fields);
const text = (f: RawField | undefined) => Buffer.from(f?.bytes ?? []).toString('utf8');

/** The definition's own message (the envelope's raw, field 2 of runtime.Unknown after "k8s\0"). */
function messageOf(object: Json): RawField[] {
  return readFields(field(readFields(encodeProtobufObject(object).subarray(4)), 2)!.bytes!);
}

test('a definition goes JSON → protobuf → JSON unchanged, unions in the shape they were sent', (t) => {
  t.deepEqual(decodeProtobufObject(encodeProtobufObject(wireShapes)), wireShapes);
  t.deepEqual(decodeProtobufObject(encodeProtobufObject(backupSchedules)), backupSchedules);
});

test("the bytes carry upstream's field numbers for the definition and its schema", (t) => {
  const crd = messageOf(wireShapes);
  const spec = fieldsAt(crd, 2);
  t.is(text(field(spec, 1)), 'wire.bosun.test', 'spec.group is 1');
  t.is(text(field(fieldsAt(spec, 3), 4)), 'Shape', 'spec.names is 3, names.kind 4');
  t.is(text(field(spec, 4)), 'Cluster', 'spec.scope is 4');
  t.is(text(field(fieldsAt(spec, 9), 1)), 'None', 'spec.conversion is 9, strategy 1');
  t.is(field(spec, 10)?.varint, 1n, 'spec.preserveUnknownFields is 10');
  const version = fieldsAt(spec, 7);
  t.is(text(field(version, 1)), 'v1', 'spec.versions is 7');
  t.is(field(version, 2)?.varint, 1n, 'served is 2');
  t.is(text(field(fieldsAt(version, 9), 1)), '.spec.colour', 'selectableFields is 9, jsonPath 1');
  // versions[0].schema (4) → openAPIV3Schema (1) → properties (29, a map entry {key 1, value 2})
  const root = fieldsAt(version, 4, 1);
  t.is(text(field(root, 5)), 'object', 'JSONSchemaProps.type is 5');
  const entry = readFields(field(root, 29)!.bytes!);
  t.is(text(field(entry, 1)), 'spec');
  const spec0 = fieldsAt(entry, 2);
  t.is(text(field(spec0, 23)), 'colour', 'required is 23');
  const rules = spec0.filter((f) => f.number === 44).map((f) => readFields(f.bytes!));
  t.is(text(field(rules[0]!, 1)), 'self.sides >= 0', 'x-kubernetes-validations is 44, rule 1');
  t.is(text(field(rules[0]!, 3)), "'sides: ' + string(self.sides)", 'messageExpression is 3');
  t.is(text(field(rules[0]!, 4)), 'FieldValueInvalid', 'reason is 4');
  t.is(text(field(rules[1]!, 5)), '.colour', 'fieldPath is 5');
  t.is(field(rules[1]!, 6)?.varint, 0n, 'optionalOldSelf is 6, kept at false');
  const property = (name: string) =>
    fieldsAt(
      spec0
        .filter((f) => f.number === 29)
        .map((f) => readFields(f.bytes!))
        .find((e) => text(field(e, 1)) === name)!,
      2,
    );
  t.is(text(field(fieldsAt(property('colour'), 8), 1)), '"red"', 'default is 8, JSON text in raw (1)');
  t.deepEqual(
    property('colour')
      .filter((f) => f.number === 20)
      .map((f) => text(field(readFields(f.bytes!), 1))),
    ['"red"', '"green"'],
    'enum is 20',
  );
  t.is(field(property('sides'), 10)?.varint, 1n, 'exclusiveMaximum is 10');
  t.is(text(field(fieldsAt(property('corners'), 24, 1), 5)), 'string', 'items (24) as one schema is field 1');
  t.is(property('tuple').filter((f) => f.number === 24).length, 1);
  t.is(readFields(field(property('tuple'), 24)!.bytes!).filter((f) => f.number === 2).length, 2, 'a list is field 2');
  t.is(field(fieldsAt(property('closed'), 30), 1)?.varint, 0n, 'additionalProperties (30) false is allows (1)');
  t.is(text(field(fieldsAt(property('labels'), 30, 2), 5)), 'string', 'a schema is field 2');
  t.is(field(property('size'), 40)?.varint, 1n, 'x-kubernetes-int-or-string is 40');
  t.is(field(property('raw'), 38)?.varint, 1n, 'x-kubernetes-preserve-unknown-fields is 38');
  t.is(field(property('raw'), 37)?.varint, 1n, 'nullable is 37');
  t.is(text(field(property('ports'), 41)), 'port', 'x-kubernetes-list-map-keys is 41');
  t.is(text(field(property('ports'), 42)), 'map', 'x-kubernetes-list-type is 42');
  t.is(text(field(property('labels'), 43)), 'granular', 'x-kubernetes-map-type is 43');
});

// ---- against a server ----

const shared = sharedInProcess(test);
const server = () => ({ dataDir: shared.server().dataDir, port: shared.server().server.port });
let admin: Identity;
const identity = () => (admin ??= adminIdentity(shared.server().dataDir));
const schedules = `/apis/${backupGroup}/v1/namespaces/default/backupschedules`;

let established: Promise<void> | undefined;
const ready = () => (established ??= establish());

async function establish(): Promise<void> {
  const created = await call(server(), 'POST', crds, identity(), backupSchedules);
  if (created.status !== 201) throw new Error(`creating the definition: ${JSON.stringify(created.body)}`);
  await waitFor(
    'the definition to be established',
    async () => {
      const crd = (await call(server(), 'GET', `${crds}/${backupSchedules.metadata.name}`, identity())).body;
      return (crd.status?.conditions ?? []).some((c: Json) => c.type === 'Established' && c.status === 'True');
    },
    5_000,
  );
  const object = {
    apiVersion: `${backupGroup}/v1`,
    kind: 'BackupSchedule',
    metadata: { name: 'nightly' },
    spec: { schedule: '0 3 * * *', target: 'vol-nightly' },
  };
  const stored = await call(server(), 'POST', schedules, identity(), object);
  if (stored.status !== 201) throw new Error(`creating a schedule: ${JSON.stringify(stored.body)}`);
}

test.serial('a client that prefers protobuf reads definitions in protobuf: get, list and watch', async (t) => {
  await ready();
  const path = `${crds}/${backupSchedules.metadata.name}`;
  const binary = await callBytes(server(), 'GET', path, identity(), protobufFirst);
  t.is(binary.status, 200);
  t.is(binary.headers['content-type'], 'application/vnd.kubernetes.protobuf');
  const json = (await call(server(), 'GET', path, identity())).body;
  t.deepEqual(decodeProtobufObject(binary.bytes), json);

  const list = await callBytes(server(), 'GET', crds, identity(), protobufFirst);
  t.is(list.headers['content-type'], 'application/vnd.kubernetes.protobuf');
  const decoded = decodeProtobufObject(list.bytes) as Json;
  t.is(decoded.kind, 'CustomResourceDefinitionList');
  t.deepEqual(
    decoded.items.map((item: Json) => item.metadata.name),
    [backupSchedules.metadata.name],
  );
  t.deepEqual(decoded.items[0].spec, json.spec);

  const watch = await callBytes(
    server(),
    'GET',
    `${crds}?watch=true&timeoutSeconds=1&fieldSelector=metadata.name=${backupSchedules.metadata.name}`,
    identity(),
    protobufFirst,
  );
  t.is(watch.headers['content-type'], 'application/vnd.kubernetes.protobuf;stream=watch');
  const [event] = decodeProtobufWatchEvents(watch.bytes);
  t.is(event?.type, 'ADDED');
  t.deepEqual(event?.object.spec, json.spec);
});

test.serial('a definition sent in protobuf is stored as its JSON twin would be', async (t) => {
  await ready();
  const reply = await callBytes(
    server(),
    'POST',
    crds,
    identity(),
    {
      'Content-Type': 'application/vnd.kubernetes.protobuf',
      Accept: 'application/json',
    },
    encodeProtobufObject(shapes),
  );
  t.is(reply.status, 201, reply.bytes.toString());
  const stored = (await call(server(), 'GET', `${crds}/${shapes.metadata.name}`, identity())).body;
  t.deepEqual(stored.spec, shapes.spec);
});

test.serial(
  'a custom resource answers protobuf-only clients with 406 and protobuf-or-JSON clients with JSON',
  async (t) => {
    await ready();
    for (const path of [schedules, `${schedules}/nightly`, `${schedules}/nightly/status`]) {
      const refused = await callBytes(server(), 'GET', path, identity(), {
        Accept: 'application/vnd.kubernetes.protobuf',
      });
      t.is(refused.status, 406, path);
      // the Status is a built-in kind, sent in the type the client takes (upstream's dynamic client,
      // which reads JSON only, then reports "unable to respond with a content type ...")
      t.is(refused.headers['content-type'], 'application/vnd.kubernetes.protobuf', path);
      t.like(decodeProtobufObject(refused.bytes), {
        kind: 'Status',
        status: 'Failure',
        reason: 'NotAcceptable',
        code: 406,
        message: 'only the following media types are accepted: application/json, application/yaml',
      });
    }
    const watch = await callBytes(server(), 'GET', `${schedules}?watch=true&timeoutSeconds=1`, identity(), {
      Accept: 'application/vnd.kubernetes.protobuf;stream=watch',
    });
    t.is(watch.status, 406);
    t.is(
      decodeProtobufObject(watch.bytes).message,
      'only the following media types are accepted: application/json;stream=watch',
    );
    const write = await callBytes(
      server(),
      'POST',
      schedules,
      identity(),
      { 'Content-Type': 'application/json', Accept: 'application/vnd.kubernetes.protobuf' },
      Buffer.from(
        JSON.stringify({
          apiVersion: `${backupGroup}/v1`,
          kind: 'BackupSchedule',
          metadata: { name: 'refused' },
          spec: { schedule: '0 4 * * *', target: 'vol-refused' },
        }),
      ),
    );
    t.is(write.status, 406, 'refused before anything is written');
    t.is((await call(server(), 'GET', `${schedules}/refused`, identity())).status, 404, 'nothing was stored');

    const either = await callBytes(server(), 'GET', `${schedules}/nightly`, identity(), {
      Accept: 'application/vnd.kubernetes.protobuf,application/json',
    });
    t.is(either.status, 200);
    t.is(either.headers['content-type'], 'application/json');
    t.is(JSON.parse(either.bytes.toString()).spec.target, 'vol-nightly');
    const any = await callBytes(server(), 'GET', `${schedules}/nightly`, identity(), protobufFirst);
    t.is(any.headers['content-type'], 'application/json');
  },
);

/** A schema `levels` properties deep (each level an object holding the next as `next`). */
function nestedSchema(levels: number): Json {
  let schema: Json = { type: 'string' };
  for (let i = 0; i < levels; i++) schema = { type: 'object', properties: { next: schema } };
  return schema;
}

function definitionWith(plural: string, kind: string, schema: Json): Json {
  const definition = structuredClone(shapes);
  definition.metadata.name = `${plural}.wire.bosun.test`;
  definition.spec.names = { plural, kind };
  definition.spec.versions[0].schema.openAPIV3Schema = schema;
  delete definition.spec.versions[0].selectableFields;
  return definition;
}

test.serial('a definition whose schema nests deep (stored from JSON) is served in protobuf too', async (t) => {
  await ready();
  // 150 levels: 300 levels of JSON, well inside what a JSON body may hold (1,000)
  const deep = definitionWith('deeps', 'Deep', nestedSchema(150));
  const created = await call(server(), 'POST', crds, identity(), deep);
  t.is(created.status, 201, JSON.stringify(created.body).slice(0, 300));
  const path = `${crds}/${deep.metadata.name}`;
  const binary = await callBytes(server(), 'GET', path, identity(), protobufFirst);
  t.is(binary.status, 200, binary.bytes.toString().slice(0, 300));
  t.deepEqual(decodeProtobufObject(binary.bytes), (await call(server(), 'GET', path, identity())).body);
});

/** Length-delimited field `n` holding `bytes`, as the wire writes it. */
function delimited(n: number, bytes: Uint8Array | string): Buffer {
  const body = typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes);
  const varint = (value: number): number[] => {
    const out: number[] = [];
    for (; value > 127; value = Math.floor(value / 128)) out.push((value & 127) | 128);
    return [...out, value];
  };
  return Buffer.concat([Buffer.from([...varint((n << 3) | 2), ...varint(body.length)]), body]);
}

test.serial(
  'a protobuf definition nested past what a JSON body may hold is a 400, and nothing is stored',
  async (t) => {
    await ready();
    // JSONSchemaProps.not (28) inside itself 2,000 times, built by hand: the encoder would refuse it
    let schema = delimited(5, 'object');
    for (let i = 0; i < 2_000; i++) schema = delimited(28, schema);
    const version = Buffer.concat([
      delimited(1, 'v1'),
      Buffer.from([2 << 3, 1, 3 << 3, 1]),
      delimited(4, delimited(1, schema)),
    ]);
    const spec = Buffer.concat([
      delimited(1, 'wire.bosun.test'),
      delimited(3, Buffer.concat([delimited(1, 'abysses'), delimited(4, 'Abyss')])),
      delimited(4, 'Cluster'),
      delimited(7, version),
    ]);
    const crd = Buffer.concat([delimited(1, delimited(1, 'abysses.wire.bosun.test')), delimited(2, spec)]);
    const typeMeta = Buffer.concat([delimited(1, 'apiextensions.k8s.io/v1'), delimited(2, 'CustomResourceDefinition')]);
    const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), delimited(1, typeMeta), delimited(2, crd)]);
    const reply = await callBytes(
      server(),
      'POST',
      crds,
      identity(),
      { 'Content-Type': 'application/vnd.kubernetes.protobuf', Accept: 'application/json' },
      body,
    );
    t.is(reply.status, 400, reply.bytes.toString().slice(0, 300));
    const status = JSON.parse(reply.bytes.toString());
    t.is(status.reason, 'BadRequest');
    t.is(status.message, 'the protobuf body is malformed: max depth exceeded');
    t.is((await call(server(), 'GET', `${crds}/abysses.wire.bosun.test`, identity())).status, 404, 'nothing stored');
    t.is((await call(server(), 'GET', crds, identity())).status, 200, 'the server still answers');
  },
);

test.serial('a namespace admin may not create a definition in protobuf either', async (t) => {
  await ready();
  const mallory = await namespaceAdmin(server(), 'mallory-ns', 'mallory');
  const hostile = structuredClone(shapes);
  hostile.metadata.name = 'hostiles.wire.bosun.test';
  hostile.spec.names = { plural: 'hostiles', kind: 'Hostile' };
  const reply = await callBytes(
    server(),
    'POST',
    crds,
    mallory,
    { 'Content-Type': 'application/vnd.kubernetes.protobuf', Accept: 'application/vnd.kubernetes.protobuf' },
    encodeProtobufObject(hostile),
  );
  t.is(reply.status, 403);
  t.like(decodeProtobufObject(reply.bytes), { kind: 'Status', reason: 'Forbidden', code: 403 });
  t.is((await call(server(), 'GET', `${crds}/${hostile.metadata.name}`, identity())).status, 404, 'nothing stored');
});
