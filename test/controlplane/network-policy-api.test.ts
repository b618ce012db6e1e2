/**
 * networking.k8s.io/v1 NetworkPolicy as upstream serves it: discovery, defaults (TCP ports, policy
 * types from the rules), upstream's validation words, the Table kubectl prints, protobuf, and who
 * may read it (nodes do: the agent enforces policies for its pods).
 */
import test from 'ava';
import { call, userIdentity, type HttpReply, type Identity } from './server-process.ts';
import { callTarget, sharedInProcess } from './in-process.ts';

const shared = sharedInProcess(test);
const collection = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';

const endpoint = () => callTarget(shared.server()).endpoint;
const admin = (): Identity => callTarget(shared.server()).admin;

function send(method: string, path: string, body?: unknown, identity: Identity = admin()): Promise<HttpReply> {
  return call(endpoint(), method, path, identity, body);
}

const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name },
  spec,
});

test('discovery lists networkpolicies (short name netpol) in networking.k8s.io/v1', async (t) => {
  const reply = await send('GET', '/apis/networking.k8s.io/v1');
  t.is(reply.status, 200);
  const resource = reply.body.resources.find((r: { name: string }) => r.name === 'networkpolicies');
  t.like(resource, { kind: 'NetworkPolicy', namespaced: true, shortNames: ['netpol'] });
});

test('a policy is stored with upstream defaults: TCP ports, Ingress always and Egress when it has egress rules', async (t) => {
  const created = await send(
    'POST',
    collection,
    policy('defaults', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ ports: [{ port: 80 }, { port: 'http', protocol: 'UDP' }] }],
      egress: [
        { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 53, endPort: 60 }] },
      ],
    }),
  );
  t.is(created.status, 201, JSON.stringify(created.body));
  t.deepEqual(created.body.spec.policyTypes, ['Ingress', 'Egress']);
  t.deepEqual(created.body.spec.ingress[0].ports, [
    { port: 80, protocol: 'TCP' },
    { port: 'http', protocol: 'UDP' },
  ]);
  t.is(created.body.spec.egress[0].ports[0].protocol, 'TCP');
  t.is(created.body.metadata.generation, 1);

  const ingressOnly = await send('POST', collection, policy('ingress-only', { podSelector: {} }));
  t.is(ingressOnly.status, 201);
  t.deepEqual(ingressOnly.body.spec.policyTypes, ['Ingress']);
});

const refusals: Array<[string, Record<string, unknown>, string]> = [
  [
    'a peer with nothing in it',
    { ingress: [{ from: [{}] }] },
    'spec.ingress[0].from[0]: Required value: must specify a peer',
  ],
  [
    'ipBlock beside a podSelector',
    { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
    'spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer',
  ],
  [
    'an except outside its cidr',
    { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }] }] },
    'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`',
  ],
  [
    'an except as wide as its cidr',
    { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/16'] } }] }] },
    'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`',
  ],
  [
    'a cidr that is none',
    { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0' } }] }] },
    'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  ],
  [
    'an empty cidr',
    { ingress: [{ from: [{ ipBlock: { cidr: '' } }] }] },
    'spec.ingress[0].from[0].ipBlock.cidr: Required value',
  ],
  [
    'endPort below port',
    { ingress: [{ ports: [{ port: 90, endPort: 80 }] }] },
    'spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`',
  ],
  [
    'endPort with a named port',
    { ingress: [{ ports: [{ port: 'web', endPort: 80 }] }] },
    'spec.ingress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is non-numeric',
  ],
  [
    'endPort without a port',
    { egress: [{ ports: [{ endPort: 80 }] }] },
    'spec.egress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is not specified',
  ],
  [
    'a port out of range',
    { ingress: [{ ports: [{ port: 70000 }] }] },
    'spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
  ],
  [
    'a port name that is none',
    { ingress: [{ ports: [{ port: 'no_such_name' }] }] },
    'spec.ingress[0].ports[0].port: Invalid value: "no_such_name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
  ],
  [
    'an unknown protocol',
    { ingress: [{ ports: [{ port: 80, protocol: 'ICMP' }] }] },
    'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
  ],
  [
    'an unknown policy type',
    { policyTypes: ['Sideways'] },
    'spec.policyTypes[0]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
  ],
  [
    'three policy types',
    { policyTypes: ['Ingress', 'Egress', 'Ingress'] },
    'spec.policyTypes: Invalid value: ["Ingress","Egress","Ingress"]: may not specify more than two policyTypes',
  ],
  [
    'a selector with a bad operator',
    { podSelector: { matchExpressions: [{ key: 'app', operator: 'Near', values: ['x'] }] } },
    'spec.podSelector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator',
  ],
];

for (const [what, spec, message] of refusals) {
  test(`refused as upstream refuses it: ${what}`, async (t) => {
    const name = `bad-${what.replaceAll(/[^a-z]+/g, '-').replace(/-$/, '')}`;
    const reply = await send('POST', collection, policy(name, { podSelector: {}, ...spec }));
    t.is(reply.status, 422, JSON.stringify(reply.body));
    t.is(reply.body.reason, 'Invalid');
    t.is(reply.body.message, `NetworkPolicy.networking.k8s.io "${name}" is invalid: ${message}`);
    t.is((await send('GET', `${collection}/${name}`)).status, 404, 'nothing was stored');
  });
}

test('an update may keep a sloppy CIDR the stored policy already had, but not add a new one', async (t) => {
  const created = await send(
    'POST',
    collection,
    policy('keeps-cidr', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] }),
  );
  t.is(created.status, 201);
  const changed = structuredClone(created.body);
  changed.spec.ingress.push({ from: [{ ipBlock: { cidr: '10.0.0.1' } }] });
  const reply = await send('PUT', `${collection}/keeps-cidr`, changed);
  t.is(reply.status, 422);
  t.regex(reply.body.message, /spec\.ingress\[1\]\.from\[0\]\.ipBlock\.cidr: Invalid value: "10\.0\.0\.1"/);
  const stored = await send('GET', `${collection}/keeps-cidr`);
  t.is(stored.body.spec.ingress.length, 1, 'the refused update changed nothing');
});

test('a spec change bumps the generation', async (t) => {
  const created = await send('POST', collection, policy('generation', { podSelector: {} }));
  const changed = structuredClone(created.body);
  changed.spec.podSelector = { matchLabels: { app: 'db' } };
  const updated = await send('PUT', `${collection}/generation`, changed);
  t.is(updated.status, 200);
  t.is(updated.body.metadata.generation, 2);
});

test('kubectl get netpol prints NAME, POD-SELECTOR, AGE as upstream', async (t) => {
  await send('POST', collection, policy('table-web', { podSelector: { matchLabels: { app: 'web', tier: 'front' } } }));
  await send('POST', collection, policy('table-all', { podSelector: {} }));
  const reply = await call(endpoint(), 'GET', collection, admin(), undefined, 'application/json', {
    accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
  });
  t.is(reply.status, 200);
  t.deepEqual(
    reply.body.columnDefinitions.map((c: { name: string }) => c.name),
    ['Name', 'Pod-Selector', 'Age'],
  );
  const cells = new Map<string, string>(reply.body.rows.map((r: { cells: string[] }) => [r.cells[0], r.cells[1]]));
  t.is(cells.get('table-web'), 'app=web,tier=front');
  t.is(cells.get('table-all'), '<none>');
});

test('a node may read network policies (its agent enforces them) but not write them', async (t) => {
  const node = userIdentity(endpoint().dataDir, 'system:node:np-node', ['system:nodes']);
  const list = await send('GET', '/apis/networking.k8s.io/v1/networkpolicies', undefined, node);
  t.is(list.status, 200, JSON.stringify(list.body));
  const write = await send('POST', collection, policy('from-node', { podSelector: {} }), node);
  t.is(write.status, 403);
  t.is((await send('GET', `${collection}/from-node`)).status, 404);
});
