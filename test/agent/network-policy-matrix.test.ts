/**
 * NetworkPolicy semantics as upstream's conformance suite (test/e2e/network/netpol) defines them,
 * told in our words: three namespaces x, y, z with pods a, b, c each, spread over two nodes, every
 * pod serving TCP and UDP on 80 and 81 (named serve-80-tcp, ...). For each policy set, every pod
 * probes every other pod on a port and protocol, and the whole 9×9 table must equal the expected
 * one. Each node compiles only its own pods' rules; a probe passes when the sender's node and the
 * receiver's node both let it through. A pod reaching itself never leaves its network namespace.
 */
import test, { type ExecutionContext } from 'ava';
import { compile, type NamespaceView, type PodView } from '../../agent/network-policy/compile.ts';
import { tracePacket } from '../../agent/network-policy/trace.ts';
import type { Protocol } from '../../agent/network-policy/ruleset.ts';
import type { NetworkPolicy, NetworkPolicySpec } from '../../kube/networkingv1.ts';
import type { LabelSelectorObject } from '../../kube/labels.ts';

const namespaceNames = ['x', 'y', 'z'] as const;
const podNames = ['a', 'b', 'c'] as const;
type PodId = `${(typeof namespaceNames)[number]}/${(typeof podNames)[number]}`;
const allPods: PodId[] = namespaceNames.flatMap((ns) => podNames.map((p) => `${ns}/${p}` as PodId));

/** x/a = 10.244.1.11, x/b = 10.244.2.12, ...: pods a and c on node 1, pods b on node 2. */
function ipOf(id: PodId): string {
  const [ns, pod] = id.split('/') as [string, string];
  const node = pod === 'b' ? 2 : 1;
  return `10.244.${node}.${10 * (namespaceNames.indexOf(ns as 'x') + 1) + podNames.indexOf(pod as 'a') + 1}`;
}
const nodeOf = (id: PodId) => (id.endsWith('/b') ? 2 : 1);

const ports = ['80', '81'].flatMap((port) =>
  (['tcp', 'udp'] as const).map((p) => ({
    name: `serve-${port}-${p}`,
    port: Number(port),
    protocol: p.toUpperCase() as Protocol,
  })),
);

function podsFor(node: number): PodView[] {
  return allPods.map((id) => {
    const [namespace, name] = id.split('/') as [string, string];
    return { namespace, name, labels: { pod: name }, ip: ipOf(id), local: nodeOf(id) === node, ports };
  });
}
const namespaces: NamespaceView[] = namespaceNames.map((n) => ({
  name: n,
  labels: { ns: n, 'kubernetes.io/metadata.name': n },
}));

const policy = (namespace: string, name: string, spec: NetworkPolicySpec): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { namespace, name },
  spec,
});

/** The reachability table for one probe: from → to → allowed. */
class Reachability {
  readonly #allowed = new Map<string, boolean>();
  constructor(initial = true) {
    for (const from of allPods) for (const to of allPods) this.#allowed.set(`${from}>${to}`, initial);
  }
  set(from: PodId, to: PodId, value: boolean): this {
    this.#allowed.set(`${from}>${to}`, value);
    return this;
  }
  ingressTo(to: PodId, value: boolean): this {
    for (const from of allPods) this.set(from, to, value);
    return this;
  }
  egressFrom(from: PodId, value: boolean): this {
    for (const to of allPods) this.set(from, to, value);
    return this;
  }
  get(from: PodId, to: PodId): boolean {
    return from === to || this.#allowed.get(`${from}>${to}`)!;
  }
}

function probeAll(policies: NetworkPolicy[], port: number, protocol: Protocol): Reachability {
  const rulesets = new Map([1, 2].map((node) => [node, compile({ policies, pods: podsFor(node), namespaces })]));
  const observed = new Reachability(false);
  for (const from of allPods) {
    for (const to of allPods) {
      const packet = { src: ipOf(from), dst: ipOf(to), protocol, port };
      const judges = new Set([nodeOf(from), nodeOf(to)]);
      const passes = [...judges].every((n) => tracePacket(rulesets.get(n)!, packet).verdict === 'pass');
      observed.set(from, to, passes);
    }
  }
  return observed;
}

/** Prints both tables where they differ, so a failure shows the cells. */
function expectTable(
  t: ExecutionContext,
  policies: NetworkPolicy[],
  port: number,
  protocol: Protocol,
  want: Reachability,
) {
  const got = probeAll(policies, port, protocol);
  const wrong: string[] = [];
  for (const from of allPods)
    for (const to of allPods)
      if (got.get(from, to) !== want.get(from, to))
        wrong.push(`${from} -> ${to} ${protocol}/${port}: ${got.get(from, to) ? 'allowed' : 'denied'}`);
  t.deepEqual(wrong, [], `${protocol}/${port}`);
}

const denyAllIngress = (ns: string) => policy(ns, 'deny-all-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
const allowPodB = { podSelector: { matchLabels: { pod: 'b' } } };

test('no policy: everyone reaches everyone', (t) => {
  expectTable(t, [], 80, 'TCP', new Reachability());
});

test('no policy: the ruleset is the same whatever the pods (the loop compiles none of them then)', (t) => {
  const withoutPods = compile({ policies: [], pods: [], namespaces: [] });
  for (const node of [1, 2]) t.deepEqual(compile({ policies: [], pods: podsFor(node), namespaces }), withoutPods);
});

test('default deny ingress isolates every pod of the namespace for ingress only', (t) => {
  const want = new Reachability();
  for (const p of podNames) want.ingressTo(`x/${p}`, false);
  expectTable(t, [denyAllIngress('x')], 80, 'TCP', want);
  expectTable(t, [denyAllIngress('x')], 81, 'UDP', want);
});

test('default deny all (ingress and egress) in a namespace', (t) => {
  const deny = policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  const want = new Reachability();
  for (const p of podNames) want.ingressTo(`x/${p}`, false).egressFrom(`x/${p}`, false);
  expectTable(t, [deny], 80, 'TCP', want);
});

test('allow from pods of the same namespace chosen by podSelector', (t) => {
  const p = policy('x', 'allow-b', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [allowPodB] }] });
  const want = new Reachability().ingressTo('x/a', false).set('x/b', 'x/a', true);
  expectTable(t, [p], 80, 'TCP', want);
});

test('allow from every pod of the own namespace (podSelector {}): other namespaces are denied', (t) => {
  const p = policy('x', 'same-ns', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] });
  const want = new Reachability();
  for (const to of podNames) for (const from of allPods) want.set(from, `x/${to}`, from.startsWith('x/'));
  expectTable(t, [p], 80, 'TCP', want);
});

test('allow from another namespace by namespaceSelector, with matchLabels and with the default name label', (t) => {
  const selectors: LabelSelectorObject[] = [
    { matchLabels: { ns: 'y' } },
    { matchLabels: { 'kubernetes.io/metadata.name': 'y' } },
    { matchExpressions: [{ key: 'ns', operator: 'In' as const, values: ['y'] }] },
  ];
  for (const selector of selectors) {
    const p = policy('x', 'from-y', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ from: [{ namespaceSelector: selector }] }],
    });
    const want = new Reachability().ingressTo('x/a', false);
    for (const q of podNames) want.set(`y/${q}`, 'x/a', true);
    expectTable(t, [p], 80, 'TCP', want);
  }
});

test('namespaceSelector with NotIn: every namespace but the own one', (t) => {
  const p = policy('x', 'not-x', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [
      { from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } }] },
    ],
  });
  const want = new Reachability().ingressTo('x/a', false);
  for (const from of allPods) if (!from.startsWith('x/')) want.set(from, 'x/a', true);
  expectTable(t, [p], 80, 'TCP', want);
});

test('podSelector AND namespaceSelector in one peer is their intersection; in two peers their union', (t) => {
  const both = policy('x', 'both', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [
      { from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] },
    ],
  });
  expectTable(t, [both], 80, 'TCP', new Reachability().ingressTo('x/a', false).set('y/b', 'x/a', true));

  const either = policy('x', 'either', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, allowPodB] }],
  });
  const want = new Reachability().ingressTo('x/a', false).set('x/b', 'x/a', true);
  for (const q of podNames) want.set(`y/${q}`, 'x/a', true);
  expectTable(t, [either], 80, 'TCP', want);
});

test('ports: a rule on 81 leaves 80 denied; stacked policies add up', (t) => {
  const on81 = policy('x', 'on-81', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ ports: [{ port: 81, protocol: 'TCP' }] }],
  });
  expectTable(t, [on81], 80, 'TCP', new Reachability().ingressTo('x/a', false));
  expectTable(t, [on81], 81, 'TCP', new Reachability());
  const on80 = policy('x', 'on-80', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ ports: [{ port: 80, protocol: 'TCP' }] }],
  });
  expectTable(t, [on81, on80], 80, 'TCP', new Reachability());
});

test('named ports resolve on the selected pod for ingress, also with a namespace peer', (t) => {
  const named = policy('x', 'named', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [
      {
        ports: [{ port: 'serve-81-tcp', protocol: 'TCP' }],
        from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }],
      },
    ],
  });
  expectTable(t, [named], 80, 'TCP', new Reachability().ingressTo('x/a', false));
  const want81 = new Reachability().ingressTo('x/a', false);
  for (const q of podNames) want81.set(`y/${q}`, 'x/a', true);
  expectTable(t, [named], 81, 'TCP', want81);
  expectTable(t, [named], 81, 'UDP', new Reachability().ingressTo('x/a', false));
});

test('named port for egress resolves on the destination pods', (t) => {
  const named = policy('x', 'egress-named', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [{ ports: [{ port: 'serve-80-udp', protocol: 'UDP' }] }],
  });
  expectTable(t, [named], 80, 'UDP', new Reachability());
  expectTable(t, [named], 80, 'TCP', new Reachability().egressFrom('x/a', false));
  expectTable(t, [named], 81, 'UDP', new Reachability().egressFrom('x/a', false));
});

test('endPort opens a range of ports', (t) => {
  const range = policy('x', 'range', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ ports: [{ port: 80, endPort: 81, protocol: 'TCP' }] }],
  });
  expectTable(t, [range], 80, 'TCP', new Reachability());
  expectTable(t, [range], 81, 'TCP', new Reachability());
  expectTable(t, [range], 81, 'UDP', new Reachability().ingressTo('x/a', false));
});

test('a policy for SCTP or UDP only does not open TCP', (t) => {
  for (const protocol of ['SCTP', 'UDP'] as const) {
    const p = policy('x', 'one-protocol', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [{ ports: [{ port: 80, protocol }] }],
    });
    expectTable(t, [p], 80, 'TCP', new Reachability().ingressTo('x/a', false));
  }
});

test('allow-all ingress wins over a deny of the same pod', (t) => {
  const allowAll = policy('x', 'allow-all', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{}] });
  expectTable(
    t,
    [denyAllIngress('x'), allowAll],
    80,
    'TCP',
    new Reachability().ingressTo('x/b', false).ingressTo('x/c', false),
  );
});

test('egress deny with DNS allowed keeps UDP 53 open and nothing else', (t) => {
  const p = policy('x', 'egress-dns-only', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [
      {
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      },
    ],
  });
  expectTable(t, [p], 80, 'TCP', new Reachability().egressFrom('x/a', false));
  expectTable(t, [p], 53, 'UDP', new Reachability());
});

test('egress to a pod in another namespace by podSelector and namespaceSelector', (t) => {
  const p = policy('x', 'egress-to-yb', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }],
  });
  expectTable(t, [p], 80, 'TCP', new Reachability().egressFrom('x/a', false).set('x/a', 'y/b', true));
});

test('the client side denies egress even when the server allows the traffic', (t) => {
  const deny = policy('x', 'deny-egress', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'] });
  const allow = policy('y', 'allow-all', { podSelector: {}, ingress: [{}] });
  expectTable(t, [deny, allow], 80, 'TCP', new Reachability().egressFrom('x/a', false));
});

test('ipBlock: a CIDR that holds one pod, and a wider CIDR except that pod', (t) => {
  const target = ipOf('y/b');
  const only = policy('x', 'cidr', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: `${target}/32` } }] }],
  });
  expectTable(t, [only], 80, 'TCP', new Reachability().egressFrom('x/a', false).set('x/a', 'y/b', true));

  const except = policy('x', 'cidr-except', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16', except: [`${target}/32`] } }] }],
  });
  expectTable(t, [except], 80, 'TCP', new Reachability().set('x/a', 'y/b', false));
  // an address in one policy's except and in another policy's cidr is allowed (the policies add up)
  expectTable(t, [except, only], 80, 'TCP', new Reachability());
});

test('ingress and egress are controlled independently on the same pod', (t) => {
  const p = policy('x', 'both-ways', {
    podSelector: { matchLabels: { pod: 'a' } },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [allowPodB] }],
    egress: [{ to: [{ podSelector: { matchLabels: { pod: 'c' } } }] }],
  });
  const want = new Reachability()
    .ingressTo('x/a', false)
    .egressFrom('x/a', false)
    .set('x/b', 'x/a', true)
    .set('x/a', 'x/c', true);
  expectTable(t, [p], 80, 'TCP', want);
});

test('replies of an allowed flow pass in the other direction', (t) => {
  const deny = policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  const pods = podsFor(1);
  const ruleset = compile({ policies: [deny], pods, namespaces });
  const reply = { src: ipOf('x/a'), dst: ipOf('y/a'), protocol: 'TCP' as const, port: 40000 };
  t.is(tracePacket(ruleset, reply).verdict, 'drop');
  t.is(tracePacket(ruleset, { ...reply, reply: true }).verdict, 'pass');
});

test('a rule that does not parse allows nothing (never everything)', (t) => {
  const broken = policy('x', 'broken', {
    podSelector: { matchLabels: { pod: 'a' } },
    ingress: [{ ports: [{ port: 0 }] }, { from: [{}] }],
  });
  expectTable(t, [broken], 80, 'TCP', new Reachability().ingressTo('x/a', false));
});
