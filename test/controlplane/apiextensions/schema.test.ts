/**
 * A custom resource's schema on its own: validation worded as upstream's, pruning, defaulting,
 * CEL rules with self/oldSelf, and the checks a CustomResourceDefinition itself must pass.
 */
import test from 'ava';
import { desiredStatuses } from '../../../controlplane/apiextensions/crd-status.ts';
import { validateCrd } from '../../../controlplane/apiextensions/crd-validation.ts';
import type { Crd } from '../../../controlplane/apiextensions/crd.ts';
import { customResourceBehaviour } from '../../../controlplane/apiextensions/custom-resource.ts';
import { compileRules, runRules } from '../../../controlplane/apiextensions/schema-cel.ts';
import { applyDefaults, pruneBySchema } from '../../../controlplane/apiextensions/schema-prune.ts';
import type { JsonSchema } from '../../../controlplane/apiextensions/schema-types.ts';
import { validateAgainstSchema } from '../../../controlplane/apiextensions/schema-validate.ts';
import { FieldErrors } from '../../../controlplane/validation/field-errors.ts';

const spec: JsonSchema = {
  type: 'object',
  properties: {
    schedule: { type: 'string', pattern: '^\\S+ \\S+ \\S+ \\S+ \\S+$' },
    size: { type: 'integer', minimum: 1, maximum: 5, default: 1 },
    tier: { type: 'string', enum: ['gold', 'silver'] },
    port: { 'x-kubernetes-int-or-string': true },
    tags: { type: 'array', maxItems: 2, items: { type: 'string', maxLength: 4 }, 'x-kubernetes-list-type': 'set' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    note: { type: 'string', nullable: true },
    extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    template: {
      type: 'object',
      'x-kubernetes-embedded-resource': true,
      properties: { spec: { type: 'object', properties: { x: { type: 'string' } } } },
    },
  },
  required: ['schedule'],
};

function problems(value: unknown, schema: JsonSchema = spec): string[] {
  const errors = new FieldErrors();
  validateAgainstSchema(errors, 'spec', value, schema);
  return errors.causes.map((c) => `${c.field}: ${c.message}`);
}

test('values are checked against the schema with upstream wording', (t) => {
  t.deepEqual(problems({ schedule: '* * * * *', size: 3, tier: 'gold', port: 'http', tags: ['a'], note: null }), []);
  t.deepEqual(problems({ size: 'three' }), [
    'spec.schedule: Required value',
    'spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"',
  ]);
  t.deepEqual(problems({ schedule: 'daily', size: 9, tier: 'bronze', port: true }), [
    'spec.schedule: Invalid value: "daily": spec.schedule in body should match \'^\\S+ \\S+ \\S+ \\S+ \\S+$\'',
    'spec.size: Invalid value: 9: spec.size in body should be less than or equal to 5',
    'spec.tier: Unsupported value: "bronze": supported values: "gold", "silver"',
    'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
  ]);
  t.deepEqual(problems({ schedule: '* * * * *', tags: ['abcdef', 'abcdef', 'c'], labels: { a: 1 } }), [
    'spec.tags: Too many: 3: must have at most 2 items',
    'spec.tags[1]: Duplicate value: "abcdef"',
    'spec.tags[0]: Too long: may not be more than 4 bytes',
    'spec.tags[1]: Too long: may not be more than 4 bytes',
    'spec.labels[a]: Invalid value: "integer": spec.labels[a] in body must be of type string: "integer"',
  ]);
  t.deepEqual(problems({ schedule: '* * * * *', size: null }), [
    'spec.size: Invalid value: "null": spec.size in body must be of type integer: "null"',
  ]);
  t.deepEqual(problems({ schedule: '* * * * *', template: { spec: {} } }), [
    'spec.template.apiVersion: Required value: must not be empty',
    'spec.template.kind: Required value: must not be empty',
  ]);
});

test('unknown fields are pruned except where the schema preserves them; embedded objects keep their type fields', (t) => {
  const object = {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w' },
    spec: {
      schedule: 'x',
      colour: 'red',
      extra: { anything: { goes: 1 } },
      template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', bogus: 1 }, spec: { x: 'y', z: 'w' } },
    },
    other: 1,
  };
  const root: JsonSchema = { type: 'object', properties: { spec } };
  t.deepEqual(pruneBySchema(object, root), [
    'spec.colour',
    'spec.template.metadata.bogus',
    'spec.template.spec.z',
    'other',
  ]);
  t.deepEqual(object.spec.extra, { anything: { goes: 1 } });
  t.deepEqual(object.spec.template, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { x: 'y' } });
  t.deepEqual(object.metadata, { name: 'w' });
});

test('defaults fill missing fields and nulls that are not nullable, at every depth', (t) => {
  const schema: JsonSchema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        default: {},
        properties: {
          size: { type: 'integer', default: 1 },
          note: { type: 'string', nullable: true, default: 'n' },
          ports: {
            type: 'array',
            items: { type: 'object', properties: { protocol: { type: 'string', default: 'TCP' } } },
          },
        },
      },
    },
  };
  const empty: Record<string, unknown> = {};
  t.true(applyDefaults(empty, schema));
  t.deepEqual(empty, { spec: { size: 1, note: 'n' } });
  const given = { spec: { size: null, note: null, ports: [{}, { protocol: 'UDP' }] } };
  applyDefaults(given, schema);
  t.deepEqual(given, { spec: { size: 1, note: null, ports: [{ protocol: 'TCP' }, { protocol: 'UDP' }] } });
  t.false(applyDefaults(given, schema), 'nothing left to default');
});

const ruled: JsonSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      'x-kubernetes-validations': [
        { rule: 'self.replicas <= self.maxReplicas', message: 'replicas must not exceed maxReplicas' },
        { rule: "self.name.startsWith('app-')", messageExpression: "'name ' + self.name + ' lacks the app- prefix'" },
        {
          rule: 'self.name == oldSelf.name',
          message: 'name is immutable',
          reason: 'FieldValueForbidden',
          fieldPath: '.name',
        },
        { rule: 'self.replicas % 2 == 1' },
      ],
      properties: {
        name: { type: 'string' },
        replicas: { type: 'integer' },
        maxReplicas: { type: 'integer' },
        ratio: { type: 'number' },
      },
    },
  },
};

function ruleProblems(value: unknown, old?: unknown): string[] {
  const tree = compileRules(ruled, '');
  if (tree === undefined) throw new Error('no rules compiled');
  const errors = new FieldErrors();
  runRules(errors, tree, '', value, old);
  return errors.causes.map((c) => `${c.field}: ${c.message}`);
}

test('CEL rules run with self, oldSelf only on updates, and use message, messageExpression or the rule', (t) => {
  t.deepEqual(ruleProblems({ spec: { name: 'app-a', replicas: 3, maxReplicas: 5 } }), []);
  t.deepEqual(ruleProblems({ spec: { name: 'web', replicas: 6, maxReplicas: 5 } }), [
    'spec: Invalid value: "object": replicas must not exceed maxReplicas',
    'spec: Invalid value: "object": name web lacks the app- prefix',
    'spec: Invalid value: "object": failed rule: self.replicas % 2 == 1',
  ]);
  t.deepEqual(
    ruleProblems(
      { spec: { name: 'app-b', replicas: 1, maxReplicas: 5 } },
      { spec: { name: 'app-a', replicas: 1, maxReplicas: 5 } },
    ),
    ['spec.name: Forbidden: name is immutable'],
  );
});

test('a rule that cannot be evaluated on the object says why, as upstream does', (t) => {
  t.deepEqual(ruleProblems({ spec: { name: 'app-a', replicas: 1 } }), [
    'spec: Invalid value: "object": no such key: maxReplicas evaluating rule: replicas must not exceed maxReplicas',
  ]);
});

const crd = (over: Record<string, unknown> = {}, versions?: unknown[]): Record<string, unknown> => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: versions ?? [
      { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
    ],
    ...over,
  },
});

/** A v1 storage version with this root schema. */
const storedVersion = (openAPIV3Schema: Record<string, unknown>) => ({
  name: 'v1',
  served: true,
  storage: true,
  schema: { openAPIV3Schema: { type: 'object', ...openAPIV3Schema } },
});

function crdProblems(object: Record<string, unknown>, old?: Record<string, unknown>): string[] {
  const errors = new FieldErrors();
  validateCrd(errors, object, old);
  return errors.causes.map((c) => `${c.field}: ${c.message}`);
}

test('a CustomResourceDefinition is refused as upstream refuses it', (t) => {
  t.deepEqual(crdProblems(crd()), []);
  t.deepEqual(crdProblems({ ...crd(), metadata: { name: 'gadgets.example.com' } }), [
    'metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group',
  ]);
  t.deepEqual(crdProblems({ ...crd({ group: 'example', scope: 'Global' }), metadata: { name: 'widgets.example' } }), [
    'spec.group: Invalid value: "example": should be a domain with at least one dot',
    'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
  ]);
  const two = [
    { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
    { name: 'v2', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
  ];
  t.deepEqual(
    crdProblems(crd({}, two)).map((p) => p.replace(/Invalid value: .*: must/, 'Invalid value: ...: must')),
    ['spec.versions: Invalid value: ...: must have exactly one version marked as storage version'],
  );
  const unstructured = [
    storedVersion({
      properties: {
        spec: { properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } },
        list: { type: 'array', items: { type: 'string' }, uniqueItems: true },
        size: { type: 'integer', default: 'big' },
      },
      'x-kubernetes-validations': [{ rule: 'self.spec.a +' }],
    }),
  ];
  t.deepEqual(crdProblems(crd({}, unstructured)), [
    'spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields',
    'spec.versions[0].schema.openAPIV3Schema.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive',
    'spec.versions[0].schema.openAPIV3Schema.properties[list].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
    'spec.versions[0].schema.openAPIV3Schema.properties[size].default: Invalid value: "big": Invalid value: "string": default in body must be of type integer: "string"',
    'spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0].rule: Invalid value: "self.spec.a +": compilation failed: ERROR: <input>: unexpected token: EOF',
  ]);
  const established = { ...crd(), status: { conditions: [{ type: 'Established', status: 'True' }] } };
  t.deepEqual(
    crdProblems(
      { ...crd({ scope: 'Cluster', group: 'example.org', names: { plural: 'widgets', kind: 'Gadget' } }) },
      established,
    ),
    [
      'metadata.name: Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group',
      'spec.group: Invalid value: "example.org": field is immutable',
      'spec.scope: Invalid value: "Cluster": field is immutable',
      'spec.names.kind: Invalid value: "Gadget": field is immutable',
    ],
  );
});

test('names are accepted first come first served within a group; accepted definitions are Established', (t) => {
  const make = (_name: string, plural: string, kind: string, created: string): Crd =>
    ({
      metadata: { name: `${plural}.example.com`, creationTimestamp: created },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural, kind, singular: plural.slice(0, -1) },
        versions: [{ name: 'v1', served: true, storage: true }],
      },
    }) as unknown as Crd;
  const statuses = desiredStatuses(
    [make('b', 'gizmos', 'Widget', '2026-01-02T00:00:00Z'), make('a', 'widgets', 'Widget', '2026-01-01T00:00:00Z')],
    new Date('2026-01-03T00:00:00Z'),
  );
  const first = statuses.get('widgets.example.com')!;
  const second = statuses.get('gizmos.example.com')!;
  t.deepEqual(
    first.conditions?.map((c) => [c.type, c.status, c.reason]),
    [
      ['NamesAccepted', 'True', 'NoConflicts'],
      ['Established', 'True', 'InitialNamesAccepted'],
    ],
  );
  t.deepEqual(first.acceptedNames, { plural: 'widgets', kind: 'Widget', singular: 'widget', listKind: 'WidgetList' });
  t.deepEqual(first.storedVersions, ['v1']);
  t.deepEqual(
    second.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
    [
      ['NamesAccepted', 'False', 'KindConflict', 'kind "Widget" is already in use'],
      ['Established', 'False', 'NotAccepted', 'not all names are accepted'],
    ],
  );
});

test('updates ratchet: values a tighter schema or rule refuses may stay while they do not change', (t) => {
  const definition = crd({ names: { plural: 'gauges', kind: 'Gauge' } }, [
    storedVersion({
      properties: {
        metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 8 } } },
        spec: {
          type: 'object',
          properties: {
            unit: { type: 'string', enum: ['mm', 'cm'] },
            note: { type: 'string' },
            range: {
              type: 'object',
              'x-kubernetes-validations': [{ rule: 'self.low <= self.high', message: 'low above high' }],
              properties: { low: { type: 'integer' }, high: { type: 'integer' } },
            },
          },
        },
      },
    }),
  ]) as unknown as Crd;
  const behaviour = customResourceBehaviour(definition, definition.spec.versions[0]!);
  const stored = {
    apiVersion: 'example.com/v1',
    kind: 'Gauge',
    metadata: { name: 'g', namespace: 'default' },
    spec: { unit: 'inch', note: 'a', range: { low: 5, high: 1 } },
  };
  const refusal = (object: Record<string, unknown>, old?: Record<string, unknown>) => {
    try {
      behaviour.admit(structuredClone(object), old, undefined);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
  t.is(
    refusal(stored),
    'Gauge.example.com "g" is invalid: spec.unit: Unsupported value: "inch": supported values: "mm", "cm"',
    'a create is judged in full',
  );
  t.is(refusal({ ...stored, spec: { ...stored.spec, note: 'b' } }, stored), undefined, 'an unrelated change passes');
  t.regex(
    refusal({ ...stored, spec: { ...stored.spec, unit: 'foot' } }, stored) ?? '',
    /spec\.unit: Unsupported value: "foot"/,
  );
  t.regex(
    refusal({ ...stored, spec: { ...stored.spec, range: { low: 6, high: 1 } } }, stored) ?? '',
    /spec\.range: Invalid value: "object": low above high/,
  );
  t.is(
    refusal({
      ...stored,
      metadata: { name: 'much-too-long', namespace: 'default' },
      spec: { unit: 'mm', range: { low: 1, high: 2 } },
    }),
    'Gauge.example.com "much-too-long" is invalid: metadata.name: Too long: may not be more than 8 bytes',
    "the schema's metadata.name limits hold",
  );
});

test('a v1 definition may not preserve unknown fields at its root', (t) => {
  t.deepEqual(crdProblems(crd({ preserveUnknownFields: true })), [
    'spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead',
  ]);
});

test('rules that could cost too much on the largest allowed object are refused, bounded ones pass', (t) => {
  const withRule = (list: Record<string, unknown>, rule: string) =>
    crdProblems(
      crd({}, [
        storedVersion({
          properties: {
            spec: { type: 'object', properties: { list: { ...list, 'x-kubernetes-validations': [{ rule }] } } },
          },
        }),
      ]),
    );
  const unboundedStrings = { type: 'array', items: { type: 'string' } };
  t.deepEqual(withRule(unboundedStrings, 'self.all(x, self.exists(y, x.startsWith(y)))'), [
    'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)',
  ]);
  t.deepEqual(
    withRule(
      { ...unboundedStrings, maxItems: 16, items: { type: 'string', maxLength: 63 } },
      'self.all(x, self.exists(y, x.startsWith(y)))',
    ),
    [],
  );
  t.deepEqual(
    withRule(unboundedStrings, 'size(self) <= 100 && self == oldSelf'),
    [],
    'a rule that does not walk the list is cheap',
  );
});

test('a webhook conversion must name its webhook and the review versions it speaks', (t) => {
  t.deepEqual(crdProblems(crd({ conversion: { strategy: 'Webhook' } })), [
    'spec.conversion.webhook: Required value: required when strategy is set to Webhook',
  ]);
  t.deepEqual(crdProblems(crd({ conversion: { strategy: 'Webhook', webhook: { clientConfig: {} } } })), [
    'spec.conversion.webhook.conversionReviewVersions: Required value: must include at least one of v1, v1beta1',
    'spec.conversion.webhook.clientConfig: Required value: exactly one of url or service is required',
  ]);
  t.deepEqual(
    crdProblems(
      crd({
        conversion: {
          strategy: 'Webhook',
          webhook: { conversionReviewVersions: ['v1'], clientConfig: { url: 'https://convert.example/crd' } },
        },
      }),
    ),
    [],
  );
  t.deepEqual(crdProblems(crd({ conversion: { strategy: 'None', webhook: { conversionReviewVersions: ['v1'] } } })), [
    'spec.conversion.webhook: Forbidden: should be empty when strategy is None',
  ]);
});

test('a version that objects may still be stored in cannot leave spec.versions', (t) => {
  const old = { ...crd(), status: { storedVersions: ['v1alpha1', 'v1'] } };
  const narrowed = { ...crd(), status: { storedVersions: ['v1alpha1', 'v1'] } };
  t.deepEqual(crdProblems(narrowed, old), [
    'status.storedVersions[0]: Invalid value: "v1alpha1": must appear in spec.versions',
  ]);
  const migrated = { ...crd(), status: { storedVersions: ['v1'] } };
  t.deepEqual(crdProblems(migrated, old), [], 'once storedVersions is trimmed the version may go');
});
