import test from 'ava';
import { perCallCostLimit } from '../../../controlplane/cel/cost.ts';
import { type CelProgram, compileCel, costLimitExceeded } from '../../../controlplane/cel/program.ts';
import { celValueFromJson, jsonFromCelValue } from '../../../controlplane/cel/values.ts';

const ruleVariables = ['self', 'oldSelf'];

function compiled(expression: string): CelProgram {
  const result = compileCel(expression, { variables: ruleVariables });
  if (!result.ok) throw new Error(`${expression}: ${result.error}`);
  return result.program;
}

function run(expression: string, self: unknown, oldSelf?: unknown): unknown {
  const bindings: Record<string, unknown> = { self: celValueFromJson(self) };
  if (oldSelf !== undefined) bindings.oldSelf = celValueFromJson(oldSelf);
  const result = compiled(expression).evaluate(bindings);
  return result.ok ? jsonFromCelValue(result.value) : { error: result.error };
}

// Rules of the kinds upstream's CRD documentation shows, each with an input that satisfies it.
const upstreamStyleRules: ReadonlyArray<readonly [string, unknown, unknown?]> = [
  [
    'self.minReplicas <= self.replicas && self.replicas <= self.maxReplicas',
    { minReplicas: 1, replicas: 3, maxReplicas: 5 },
  ],
  ["'Available' in self.stateCounts", { stateCounts: { Available: 2 } }],
  ['(size(self.list1) == 0) != (size(self.list2) == 0)', { list1: [], list2: ['a'] }],
  [
    "self.envars.filter(e, e.name == 'MY_ENV').all(e, e.value.matches('^[a-zA-Z]*$'))",
    { envars: [{ name: 'MY_ENV', value: 'abc' }] },
  ],
  ['has(self.expired) && self.created < self.expired', { created: 1, expired: 5 }],
  ["self.widgets.exists(w, w.key == 'x' && w.foo < 10)", { widgets: [{ key: 'x', foo: 3 }] }],
  ["type(self) == string ? self == '100%' : self == 1000", '100%'],
  ['self.set1.all(e, !(e in self.set2))', { set1: ['a'], set2: ['b'] }],
  ['self == oldSelf', 'same', 'same'],
  ['!has(oldSelf.value) || has(self.value)', { value: 'x' }, {}],
  ["self.all(k, k.startsWith('x-'))", { 'x-a': '1' }],
  ["self.lowerAscii() == self && self.split('.').size() == 3", 'a.b.c'],
  ["self.?spec.?name.orValue('none') == 'none'", {}],
  ['[3, 1].min() == 1 && [1, 2].isSorted() && [1, 2].sum() == 3 && self.charAt(0) == "a"', 'abc'],
];

for (const [rule, self, oldSelf] of upstreamStyleRules) {
  test(`upstream-style rule holds: ${rule}`, (t) => {
    t.is(run(rule, self, oldSelf), true);
  });
}

test('integers are CEL ints: division truncates and string() prints no fraction', (t) => {
  t.is(run("string(self.replicas / 2) + ' of ' + string(self.replicas)", { replicas: 3 }), '1 of 3');
});

test('a missing field is an evaluation error worded as cel-go words it', (t) => {
  t.deepEqual(run('self.missing == 1', {}), { error: 'no such key: missing' });
});

test('compile errors name the problem and unknown variables are refused', (t) => {
  const syntax = compileCel('self.a +', { variables: ruleVariables });
  t.false(syntax.ok);
  const unknown = compileCel('request.name == "x"', { variables: ruleVariables });
  t.deepEqual(unknown, { ok: false, error: 'unknown variable: request' });
  const types = compileCel("1 + 'a'", { variables: ruleVariables });
  t.deepEqual(types, { ok: false, error: 'no such overload: int + string' });
});

test('an evaluation over the cost limit is refused before it runs, with upstream words', (t) => {
  const program = compiled('self.all(x, self.all(y, self.all(z, x + y + z > 0)))');
  const big = celValueFromJson(Array.from({ length: 200 }, (_, i) => i + 1));
  const over = program.evaluate({ self: big });
  t.false(over.ok);
  t.true(!over.ok && over.costExceeded === true && over.error === costLimitExceeded);
  t.true(over.cost > perCallCostLimit);
  const small = program.evaluate({ self: celValueFromJson([1, 2, 3]) });
  t.deepEqual(small.ok && small.value, true);
});

test('a flat rule costs its size whatever the input, so large objects stay cheap', (t) => {
  const program = compiled('self.replicas <= 10');
  const result = program.evaluate({
    self: celValueFromJson({ replicas: 3, items: Array.from({ length: 100_000 }, () => 'x') }),
  });
  t.true(result.ok);
  t.true(result.cost < 10);
});

// Kubernetes' typed libraries, as rules in CRDs from the wild use them (Gateway API addresses,
// resource limits as quantities, webhook URLs).
const typedLibraryRules: ReadonlyArray<readonly [string, unknown]> = [
  ['isIP(self) && ip(self).family() == 4 && !ip(self).isLoopback()', '10.1.2.3'],
  ['ip(self).family() == 6 && ip(self).isGlobalUnicast()', '2001:db8::1'],
  ['!isIP(self) && !isCIDR(self)', 'not-an-address'],
  [
    "cidr(self).containsIP('10.1.2.3') && !cidr(self).containsIP(ip('11.0.0.1')) && cidr(self).prefixLength() == 8",
    '10.0.0.0/8',
  ],
  [
    "cidr(self).containsCIDR('192.168.1.0/24') && string(cidr('192.168.7.9/16').masked()) == '192.168.0.0/16'",
    '192.168.0.0/16',
  ],
  [
    "isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() == 'hooks.example' && url(self).getPort() == '8443'",
    'https://hooks.example:8443/validate?x=1',
  ],
  [
    "quantity(self.limit).isGreaterThan(quantity(self.request)) && quantity(self.request).compareTo(quantity('512Mi')) == 0",
    { limit: '1Gi', request: '512Mi' },
  ],
  ["isQuantity(self) && quantity(self).isInteger() && quantity(self).asInteger() == 2000 && !isQuantity('2 GB')", '2k'],
  ["quantity(self).add(quantity('500m')).asApproximateFloat() == 1.5 && quantity(self).sign() == 1", '1'],
];

for (const [rule, self] of typedLibraryRules) {
  test(`typed library rule holds: ${rule}`, (t) => {
    t.is(run(rule, self), true);
  });
}

test('a typed value that does not parse is an evaluation error', (t) => {
  t.deepEqual(run('ip(self).family() == 4', '300.1.1.1'), {
    error: "IP Address '300.1.1.1' parse error during conversion from string",
  });
});
