/**
 * Regular expressions written into CustomResourceDefinitions are RE2, as upstream's: a pattern
 * that only a backtracking engine understands (a backreference, a lookahead) is refused when the
 * definition is written, in upstream's words, and a pattern that makes a backtracking engine take
 * exponential time (`^(a+)+$` against `aaa...ab`) is answered at once, for a schema `pattern` and
 * for a CEL rule whose pattern is the object's own data (so any writer of the object could pick it).
 */
import test from 'ava';
import { call, type HttpReply, type Identity, adminIdentity } from '../server-process.ts';
import { sharedInProcess } from '../in-process.ts';
import { waitFor } from '../ports.ts';
import { namespacedDefinition } from './fixtures.ts';

const shared = sharedInProcess(test);
const server = () => ({ dataDir: shared.server().dataDir, port: shared.server().server.port });
let admin: Identity;
const api = (method: string, path: string, body?: unknown): Promise<HttpReply> =>
  call(server(), method, path, (admin ??= adminIdentity(shared.server().dataDir)), body);

const group = 'regex.bosun.test';
const crds = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const hostile = `${'a'.repeat(40)}b`;

/** A definition of `words` whose spec.word has this schema (and the spec these CEL rules). */
function wordsDefinition(plural: string, word: Record<string, unknown>, rules: unknown[] = []) {
  const kind = `${plural.charAt(0).toUpperCase()}${plural.slice(1, -1)}`;
  const spec = {
    type: 'object',
    ...(rules.length > 0 ? { 'x-kubernetes-validations': rules } : {}),
    properties: { word: { type: 'string', ...word }, pattern: { type: 'string' } },
  };
  const version = { name: 'v1', served: true, storage: true };
  return namespacedDefinition(group, plural, kind, {
    versions: [{ ...version, schema: { openAPIV3Schema: { type: 'object', properties: { spec } } } }],
  });
}

async function establish(definition: { metadata: { name: string } }): Promise<void> {
  const created = await api('POST', crds, definition);
  if (created.status !== 201) throw new Error(`creating ${definition.metadata.name}: ${JSON.stringify(created.body)}`);
  await waitFor(
    `${definition.metadata.name} to be established`,
    async () =>
      ((await api('GET', `${crds}/${definition.metadata.name}`)).body.status?.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True',
      ),
    5_000,
  );
}

const object = (kind: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: `${group}/v1`,
  kind,
  metadata: { name },
  spec,
});

test.serial('a schema pattern RE2 cannot compile is refused with the definition, in upstream words', async (t) => {
  const field = 'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[word].pattern';
  for (const [plural, pattern, why] of [
    ['echoes', '(a)\\1', 'invalid escape sequence: `\\1`'],
    ['peeks', 'a(?=b)', 'invalid or unsupported Perl syntax: `(?=`'],
  ] as const) {
    const refused = await api('POST', crds, wordsDefinition(plural, { pattern }));
    t.is(refused.status, 422, plural);
    t.is(refused.body.reason, 'Invalid');
    t.is(
      refused.body.message,
      `CustomResourceDefinition.apiextensions.k8s.io "${plural}.${group}" is invalid: ${field}: Invalid value: ${JSON.stringify(pattern)}: must be a valid regular expression, but isn't: error parsing regexp: ${why}`,
    );
    t.is((await api('GET', `${crds}/${plural}.${group}`)).status, 404, 'nothing stored');
  }
  // the same patterns inside a logic junctor are refused too
  const nested = await api(
    'POST',
    crds,
    wordsDefinition('nesteds', { anyOf: [{ pattern: '^x' }, { pattern: '(?<=a)b' }] }),
  );
  t.is(nested.status, 422);
  t.regex(nested.body.message, /properties\[word\]\.anyOf\[1\]\.pattern: Invalid value: "\(\?<=a\)b"/);
  // a literal pattern of a CEL rule's matches() is compiled as RE2 with the rule (upstream's regex literal check)
  const rule = "self.word.matches('a(?=b)')";
  const literal = await api('POST', crds, wordsDefinition('literals', {}, [{ rule }]));
  t.is(literal.status, 422);
  t.is(
    literal.body.message,
    `CustomResourceDefinition.apiextensions.k8s.io "literals.${group}" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: ${JSON.stringify(rule)}: compilation failed: ERROR: <input>: invalid matches argument`,
  );
  t.is((await api('GET', `${crds}/literals.${group}`)).status, 404, 'nothing stored');
});

test.serial(
  'a backtracking-heavy schema pattern is matched in linear time: the write is answered with 422',
  async (t) => {
    await establish(wordsDefinition('chains', { pattern: '^(a+)+$' }));
    const path = `/apis/${group}/v1/namespaces/default/chains`;
    const refused = await api('POST', path, object('Chain', 'hostile', { word: hostile }));
    t.is(refused.status, 422);
    t.is(
      refused.body.message,
      `Chain.${group} "hostile" is invalid: spec.word: Invalid value: "${hostile}": spec.word in body should match '^(a+)+$'`,
    );
    t.is((await api('GET', `${path}/hostile`)).status, 404, 'nothing stored');
    t.is((await api('POST', path, object('Chain', 'fine', { word: 'aaaa' }))).status, 201);
    t.is((await api('GET', '/readyz')).status, 200, 'the server still answers');
  },
);

test.serial(
  "a CEL rule matching against the object's own pattern runs RE2: hostile data cannot stall the server",
  async (t) => {
    await establish(
      wordsDefinition('matchers', {}, [
        { rule: 'self.word.matches(self.pattern)', message: 'word must match pattern' },
        { rule: "self.word.find('[0-9]+') == '' || self.word.findAll('[0-9]').size() < 3", message: 'few digits' },
      ]),
    );
    const path = `/apis/${group}/v1/namespaces/default/matchers`;
    const refused = await api('POST', path, object('Matcher', 'hostile', { word: hostile, pattern: '^(a+)+$' }));
    t.is(refused.status, 422);
    t.is(
      refused.body.message,
      `Matcher.${group} "hostile" is invalid: spec: Invalid value: "object": word must match pattern`,
    );
    t.is((await api('GET', `${path}/hostile`)).status, 404, 'nothing stored');
    // RE2's own syntax: a flag group, and Go's error for what RE2 does not have
    t.is((await api('POST', path, object('Matcher', 'caseless', { word: 'AAB', pattern: '(?i)^a+b$' }))).status, 201);
    const lookahead = await api('POST', path, object('Matcher', 'peek', { word: 'ab', pattern: 'a(?=b)' }));
    t.is(lookahead.status, 422);
    t.regex(lookahead.body.message, /error parsing regexp: invalid or unsupported Perl syntax: `\(\?=`/);
    const digits = await api('POST', path, object('Matcher', 'digits', { word: 'a1b2c3', pattern: 'a' }));
    t.is(digits.status, 422);
    t.regex(digits.body.message, /few digits/);
    t.is((await api('GET', '/readyz')).status, 200, 'the server still answers');
  },
);

test.serial("a ValidatingAdmissionPolicy matching against the object's own data runs RE2 too", async (t) => {
  const admission = '/apis/admissionregistration.k8s.io/v1';
  t.is(
    (await api('POST', '/api/v1/namespaces', { metadata: { name: 'patterns', labels: { regex: 'checked' } } })).status,
    201,
  );
  const policy = {
    metadata: { name: 'word-pattern' },
    spec: {
      matchConstraints: {
        resourceRules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
      },
      validations: [
        {
          expression:
            "!has(object.data) || !('pattern' in object.data) || object.data.word.matches(object.data.pattern)",
          message: 'word must match pattern',
        },
      ],
    },
  };
  t.is((await api('POST', `${admission}/validatingadmissionpolicies`, policy)).status, 201);
  const binding = {
    metadata: { name: 'word-pattern' },
    spec: {
      policyName: 'word-pattern',
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { regex: 'checked' } } },
    },
  };
  t.is((await api('POST', `${admission}/validatingadmissionpolicybindings`, binding)).status, 201);
  const configMaps = '/api/v1/namespaces/patterns/configmaps';
  // the policy is in force once it refuses a plain mismatch (each probe has a name of its own)
  const probe = { metadata: { generateName: 'probe-' }, data: { word: 'b', pattern: '^a$' } };
  await waitFor('the policy to be in force', async () => (await api('POST', configMaps, probe)).status === 422, 5_000);
  const refused = await api('POST', configMaps, {
    metadata: { name: 'hostile' },
    data: { word: hostile, pattern: '^(a+)+$' },
  });
  t.is(refused.status, 422);
  t.regex(refused.body.message, /denied request: word must match pattern$/);
  t.is((await api('GET', `${configMaps}/hostile`)).status, 404, 'nothing stored');
  t.is(
    (await api('POST', configMaps, { metadata: { name: 'fine' }, data: { word: 'aaa', pattern: '^(a+)+$' } })).status,
    201,
  );
  t.is((await api('GET', '/readyz')).status, 200, 'the server still answers');
});
