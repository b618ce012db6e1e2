/**
 * The text the network policy rules are applied with: one filter payload that rewrites our chains
 * whole, deletes the stale ones and keeps our hook first in FORWARD; ipset text that creates only
 * missing sets and destroys unused ones; hostile names never reach the rule text; and the commands
 * planned from them, only those with work to do, in the order the tools need.
 */
import test from 'ava';
import { compile, type PodView } from '../../agent/network-policy/compile.ts';
import { planApply } from '../../agent/network-policy/plan.ts';
import { renderFilter, renderSetCreation, renderSetRemoval } from '../../agent/network-policy/render.ts';
import { NetworkPolicyApplier } from '../../agent/network-policy/applier.ts';
import { fixedChains, hookArgs, type Rule } from '../../agent/network-policy/ruleset.ts';
import type { NetworkPolicy } from '../../kube/networkingv1.ts';

const pod = (name: string, ip: string, local: boolean): PodView => ({
  namespace: 'x',
  name,
  labels: { pod: name },
  ip,
  local,
  ports: [],
});
const pods = [pod('a', '10.244.1.2', true), pod('b', '10.244.2.2', false), pod('c', '10.244.2.3', false)];
const fromBAndC: NetworkPolicy = {
  metadata: { namespace: 'x', name: 'from-b-c' },
  spec: {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }] }],
  },
};
const nothingThere = { chains: new Set<string>(), hookFirst: false, hookPresent: false };

test('one filter payload: our chains declared and filled, the hook inserted first in FORWARD', (t) => {
  const payload = renderFilter(compile({ policies: [fromBAndC], pods, namespaces: [] }), nothingThere);
  const lines = payload.trim().split('\n');
  t.is(lines[0], '*filter');
  t.is(lines.at(-1), 'COMMIT');
  t.true(lines.includes(`:${fixedChains.top} - [0:0]`));
  t.true(lines.includes(`-I FORWARD 1 ${hookArgs}`));
  t.false(lines.some((l) => l.startsWith('-D FORWARD')));
  t.true(lines.some((l) => l.startsWith(`-A ${fixedChains.top} -m conntrack --ctstate RELATED,ESTABLISHED`)));
  t.true(lines.some((l) => l.startsWith(`-A ${fixedChains.top} -d 10.244.1.2/32 `)));
  t.true(
    lines.some((l) => /-m set --match-set bosunpol-[0-9a-f]{16} src .*-j MARK --set-xmark 0x20000\/0x20000/.test(l)),
  );
});

test('the hook moves back to the top when something went above it; stale chains are deleted', (t) => {
  const payload = renderFilter(compile({ policies: [], pods, namespaces: [] }), {
    chains: new Set([fixedChains.top, 'BOSUNPOL-POLI-0123456789AB']),
    hookFirst: false,
    hookPresent: true,
  });
  const lines = payload.split('\n');
  t.true(lines.indexOf(`-D FORWARD ${hookArgs}`) < lines.indexOf(`-I FORWARD 1 ${hookArgs}`));
  t.true(lines.includes(':BOSUNPOL-POLI-0123456789AB - [0:0]'));
  t.true(lines.includes('-X BOSUNPOL-POLI-0123456789AB'));
  const settled = renderFilter(compile({ policies: [], pods, namespaces: [] }), {
    chains: new Set(),
    hookFirst: true,
    hookPresent: true,
  });
  t.false(settled.includes('FORWARD 1'), 'a hook in place is left alone');
});

test('sets: created only when missing, named by content, destroyed once unused', (t) => {
  const ruleset = compile({ policies: [fromBAndC], pods, namespaces: [] });
  const [name] = [...ruleset.sets.keys()];
  t.truthy(name);
  const create = renderSetCreation(ruleset, new Set());
  t.regex(create, new RegExp(`^create ${name} hash:ip family inet maxelem 65536 -exist\n`));
  t.true(create.includes(`add ${name} 10.244.2.2 -exist`) && create.includes(`add ${name} 10.244.2.3 -exist`));
  t.is(renderSetCreation(ruleset, new Set([name!])), '');
  t.is(renderSetRemoval(ruleset, new Set([name!, 'bosunpol-00000000000000aa'])), 'destroy bosunpol-00000000000000aa\n');
  t.is(
    compile({ policies: [fromBAndC], pods, namespaces: [] })
      .sets.keys()
      .next().value,
    name,
    'the same content gives the same name',
  );
});

test('an ipBlock with except becomes a hash:net set with nomatch entries; 0.0.0.0/0 is split in halves', (t) => {
  const policy: NetworkPolicy = {
    metadata: { namespace: 'x', name: 'world-but' },
    spec: {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }],
    },
  };
  const create = renderSetCreation(compile({ policies: [policy], pods, namespaces: [] }), new Set());
  t.true(create.includes(' 0.0.0.0/1 -exist') && create.includes(' 128.0.0.0/1 -exist'));
  t.true(create.includes(' 10.0.0.0/8 nomatch -exist'));
});

test('names in comments cannot break out of the rule text', (t) => {
  const hostile: NetworkPolicy = {
    metadata: { namespace: 'x', name: 'a" -j ACCEPT\n-A FORWARD -j ACCEPT #' },
    spec: { podSelector: {}, ingress: [{}] },
  };
  const payload = renderFilter(compile({ policies: [hostile], pods, namespaces: [] }), nothingThere);
  const lines = payload.split('\n');
  const allowed = ['*filter', ':BOSUNPOL-', '-A BOSUNPOL-', '-I FORWARD 1 ', 'COMMIT'];
  t.deepEqual(
    lines.filter((l) => l !== '' && !allowed.some((p) => l.startsWith(p))),
    [],
  );
  const withName = lines.filter((l) => l.includes('--comment "x/a'));
  t.true(withName.length > 0);
  for (const l of withName) t.is(l.split('"').length, 3, `one quoted comment: ${l}`);
  t.false(lines.some((l) => / -j ACCEPT$/.test(l)));
});

test('without ipset, policies that need no set still apply; those that do fail and say why', async (t) => {
  const calls: string[] = [];
  const runner = {
    run: async (argv: readonly string[]) => {
      calls.push(argv.join(' '));
      if (argv[0] === 'ipset') throw new Error('spawn ipset ENOENT');
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const applier = new NetworkPolicyApplier(runner);
  const single: NetworkPolicy = {
    metadata: { namespace: 'x', name: 'from-b' },
    spec: {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    },
  };
  await applier.apply(compile({ policies: [single], pods, namespaces: [] }));
  t.true(
    calls.some((c) => c.startsWith('iptables-restore')),
    'the rules went in',
  );
  const error = await t.throwsAsync(applier.apply(compile({ policies: [fromBAndC], pods, namespaces: [] })));
  t.regex(error?.message ?? '', /need address sets and ipset failed \(install the ipset package\): spawn ipset ENOENT/);
});

const withSet = compile({ policies: [fromBAndC], pods, namespaces: [] });
const setOf = (ruleset: typeof withSet) => [...ruleset.sets.keys()][0]!;
/** A node that holds every chain and set of `withSet`, our hook first. */
const holdingWithSet = {
  chains: new Set(withSet.chains.keys()),
  hookFirst: true,
  hookPresent: true,
  sets: new Set([setOf(withSet)]),
};

test('plan: a node that holds what the rules need gets one restore and no hook or set command', (t) => {
  const steps = planApply(withSet, holdingWithSet);
  t.deepEqual(
    steps.map((s) => s.kind),
    ['restore-rules'],
  );
  t.deepEqual(steps[0]!.argv, ['iptables-restore', '-w', '--noflush']);
  t.notRegex(steps[0]!.input, /^-[ADI] FORWARD /m, 'the hook is left where it is');
});

test('plan: new sets before the restore, unused sets after it, the hook moved when it is not first', (t) => {
  const stale = 'bosunpol-0123456789abcdef';
  const steps = planApply(withSet, { chains: new Set(), hookFirst: false, hookPresent: true, sets: new Set([stale]) });
  t.deepEqual(
    steps.map((s) => s.kind),
    ['create-sets', 'restore-rules', 'destroy-sets'],
  );
  t.true(steps[0]!.input.startsWith(`create ${setOf(withSet)} `));
  t.true(steps[1]!.input.includes(`-D FORWARD ${hookArgs}\n-I FORWARD 1 ${hookArgs}\n`));
  t.is(steps[2]!.input, `destroy ${stale}\n`);
  const gone = planApply(compile({ policies: [], pods, namespaces: [] }), holdingWithSet);
  t.deepEqual(
    gone.map((s) => s.kind),
    ['restore-rules', 'destroy-sets'],
  );
});

test('a ruleset’s chains are rendered once: the change check and the apply share the text', (t) => {
  const compiled = compile({ policies: [fromBAndC], pods, namespaces: [] });
  let walks = 0;
  class CountedChains extends Map<string, readonly Rule[]> {
    override [Symbol.iterator]() {
      walks++;
      return super[Symbol.iterator]();
    }
  }
  const counted = { chains: new CountedChains(compiled.chains), sets: compiled.sets };
  const states = [
    nothingThere,
    { chains: new Set([...compiled.chains.keys(), 'BOSUNPOL-PODI-STALE']), hookFirst: false, hookPresent: true },
    { chains: new Set(compiled.chains.keys()), hookFirst: true, hookPresent: true },
  ];
  const texts = states.map((observed) => renderFilter(counted, observed));
  t.is(walks, 1, 'the rules were walked for the first payload only');
  const fresh = () => ({ chains: new Map(compiled.chains), sets: compiled.sets });
  t.deepEqual(
    texts,
    states.map((observed) => renderFilter(fresh(), observed)),
    'the same text as a ruleset rendered anew, whatever the node holds',
  );
  t.true(
    texts[1]!.includes(':BOSUNPOL-PODI-STALE - [0:0]\n-A BOSUNPOL-FORWARD '),
    'stale chains declared before the rules',
  );
});
