/**
 * networking.k8s.io/v1 Ingress and IngressClass as upstream serves them: discovery, the built-in
 * `bosun` class marked as the default, the DefaultIngressClass admission, upstream's validation
 * words, the status subresource, the Tables kubectl prints, protobuf, and who may read them
 * (nodes do: their ingress proxy serves Ingresses, with the TLS secrets Ingresses name).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { call, namespaceAdmin, userIdentity, type HttpReply, type Identity } from './server-process.ts';
import { callTarget, sharedInProcess } from './in-process.ts';

const shared = sharedInProcess(test);
const group = '/apis/networking.k8s.io/v1';
const collection = `${group}/namespaces/default/ingresses`;
const classes = `${group}/ingressclasses`;

const endpoint = () => callTarget(shared.server()).endpoint;
const admin = (): Identity => callTarget(shared.server()).admin;

function send(method: string, path: string, body?: unknown, identity: Identity = admin()): Promise<HttpReply> {
  return call(endpoint(), method, path, identity, body);
}

const backend = (name = 'web', port: Record<string, unknown> = { number: 80 }) => ({ service: { name, port } });

const ingress = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec,
});

const oneRule = (path: Record<string, unknown>, host?: string) => ({
  rules: [{ ...(host !== undefined ? { host } : {}), http: { paths: [{ backend: backend(), ...path }] } }],
});

test('discovery lists ingresses (ing, with status) and cluster-scoped ingressclasses', async (t) => {
  const reply = await send('GET', group);
  t.is(reply.status, 200);
  const names = reply.body.resources.map((r: { name: string }) => r.name);
  t.like(
    reply.body.resources.find((r: { name: string }) => r.name === 'ingresses'),
    { kind: 'Ingress', namespaced: true, shortNames: ['ing'] },
  );
  t.true(names.includes('ingresses/status'));
  t.like(
    reply.body.resources.find((r: { name: string }) => r.name === 'ingressclasses'),
    { kind: 'IngressClass', namespaced: false },
  );
});

test('the server serves its proxy class bosun, marked as the default class', async (t) => {
  const reply = await send('GET', `${classes}/bosun`);
  t.is(reply.status, 200, JSON.stringify(reply.body));
  t.is(reply.body.spec.controller, 'bosun.io/ingress-proxy');
  t.is(reply.body.metadata.annotations['ingressclass.kubernetes.io/is-default-class'], 'true');
});

test('an Ingress naming no class gets the default class; one naming a class or the annotation keeps it', async (t) => {
  const plain = await send('POST', collection, ingress('defaulted', { defaultBackend: backend() }));
  t.is(plain.status, 201, JSON.stringify(plain.body));
  t.is(plain.body.spec.ingressClassName, 'bosun');
  t.is(plain.body.metadata.generation, 1);

  const named = await send(
    'POST',
    collection,
    ingress('named', { ingressClassName: 'other', ...oneRule({ pathType: 'Prefix', path: '/' }) }),
  );
  t.is(named.status, 201, JSON.stringify(named.body));
  t.is(named.body.spec.ingressClassName, 'other');

  const annotated = await send(
    'POST',
    collection,
    ingress('annotated', { defaultBackend: backend() }, { 'kubernetes.io/ingress.class': 'nginx' }),
  );
  t.is(annotated.status, 201);
  t.is(annotated.body.spec.ingressClassName, undefined, 'the older annotation names the class');
});

test.serial('two default classes: an Ingress naming none is refused as upstream refuses it (403)', async (t) => {
  const second = await send('POST', classes, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'second-default', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
    spec: { controller: 'example.com/ingress' },
  });
  t.is(second.status, 201, JSON.stringify(second.body));
  try {
    const reply = await send('POST', collection, ingress('ambiguous', { defaultBackend: backend() }));
    t.is(reply.status, 403, JSON.stringify(reply.body));
    t.is(
      reply.body.message,
      'ingresses.networking.k8s.io "ambiguous" is forbidden: Internal error occurred: 2 default IngressClasses were found, only 1 allowed',
    );
    t.is((await send('GET', `${collection}/ambiguous`)).status, 404, 'nothing was stored');
    const explicit = await send(
      'POST',
      collection,
      ingress('explicit', { ingressClassName: 'bosun', defaultBackend: backend() }),
    );
    t.is(explicit.status, 201, 'an Ingress that names its class is not affected');
  } finally {
    await send('DELETE', `${classes}/second-default`);
  }
});

const refusals: Array<[string, Record<string, unknown>, string, Record<string, string>?]> = [
  [
    'neither rules nor a default backend',
    {},
    'spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified',
  ],
  [
    'a path without a pathType',
    oneRule({ path: '/' }),
    'spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified',
  ],
  [
    'an unknown pathType',
    oneRule({ path: '/', pathType: 'Regex' }),
    'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"',
  ],
  [
    'a relative Prefix path',
    oneRule({ path: 'api', pathType: 'Prefix' }),
    'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path',
  ],
  [
    'a path climbing out with /../',
    oneRule({ path: '/a/../b', pathType: 'Exact' }),
    'spec.rules[0].http.paths[0].path: Invalid value: "/a/../b": must not contain \'/../\'',
  ],
  [
    'a path ending in /..',
    oneRule({ path: '/a/..', pathType: 'Prefix' }),
    'spec.rules[0].http.paths[0].path: Invalid value: "/a/..": cannot end with \'/..\'',
  ],
  [
    'an encoded slash',
    oneRule({ path: '/a%2fb', pathType: 'Prefix' }),
    'spec.rules[0].http.paths[0].path: Invalid value: "/a%2fb": must not contain \'%2f\'',
  ],
  [
    'an IP as host',
    oneRule({ path: '/', pathType: 'Prefix' }, '10.0.0.1'),
    'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
  ],
  [
    'a wildcard not in front',
    oneRule({ path: '/', pathType: 'Prefix' }, 'foo.*.example.com'),
    `spec.rules[0].host: Invalid value: "foo.*.example.com": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  ],
  [
    'a host with upper case',
    oneRule({ path: '/', pathType: 'Prefix' }, 'Web.example.com'),
    `spec.rules[0].host: Invalid value: "Web.example.com": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  ],
  [
    'http without paths',
    { rules: [{ host: 'a.example.com', http: { paths: [] } }] },
    'spec.rules[0].http.paths: Required value',
  ],
  [
    'both port name and number',
    { defaultBackend: backend('web', { name: 'http', number: 80 }) },
    'spec.defaultBackend: Invalid value: "": cannot set both port name & port number',
  ],
  [
    'no port at all',
    { defaultBackend: { service: { name: 'web' } } },
    'spec.defaultBackend: Required value: port name or number is required',
  ],
  [
    'a port number out of range',
    { defaultBackend: backend('web', { number: 70000 }) },
    'spec.defaultBackend.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive',
  ],
  [
    'a Service name that is no DNS-1035 label',
    { defaultBackend: backend('1web') },
    `spec.defaultBackend.service.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
  ],
  [
    'a backend that is both resource and service',
    { defaultBackend: { ...backend(), resource: { kind: 'Bucket', name: 'b' } } },
    'spec.defaultBackend: Invalid value: "": cannot set both resource and service backends',
  ],
  [
    'a backend that is neither',
    { defaultBackend: {} },
    'spec.defaultBackend: Invalid value: "": resource or service backend is required',
  ],
  [
    'a TLS secret name that is no name',
    { defaultBackend: backend(), tls: [{ hosts: ['a.example.com'], secretName: 'Bad_Name' }] },
    `spec.tls[0].secretName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  ],
  [
    'a class annotation that disagrees with ingressClassName',
    { ingressClassName: 'bosun', defaultBackend: backend() },
    'annotations.kubernetes.io/ingress.class: Invalid value: "nginx": must match `ingressClassName` when both are specified',
    { 'kubernetes.io/ingress.class': 'nginx' },
  ],
];

for (const [what, spec, message, annotations] of refusals) {
  test(`an Ingress is refused as upstream refuses it: ${what}`, async (t) => {
    const name = `bad-${what.replaceAll(/[^a-z0-9]+/g, '-').replace(/-$/, '')}`.slice(0, 60);
    const reply = await send('POST', collection, ingress(name, spec, annotations));
    t.is(reply.status, 422, JSON.stringify(reply.body));
    t.is(reply.body.reason, 'Invalid');
    t.is(reply.body.message, `Ingress.networking.k8s.io "${name}" is invalid: ${message}`);
    t.is((await send('GET', `${collection}/${name}`)).status, 404, 'nothing was stored');
  });
}

test('what upstream accepts is stored: wildcard hosts, every pathType, named ports, resource backends, TLS without a secret', async (t) => {
  const reply = await send(
    'POST',
    collection,
    ingress('accepted', {
      defaultBackend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' } },
      tls: [{ hosts: ['*.example.com'] }, { hosts: ['a.example.com'], secretName: 'a-tls' }],
      rules: [
        {
          host: '*.example.com',
          http: {
            paths: [
              { path: '/exact', pathType: 'Exact', backend: backend('web', { name: 'http' }) },
              { path: '/', pathType: 'Prefix', backend: backend() },
              { pathType: 'ImplementationSpecific', backend: backend() },
            ],
          },
        },
        { host: 'a.example.com' },
      ],
    }),
  );
  t.is(reply.status, 201, JSON.stringify(reply.body));
});

test("kubectl create ingress's own output is accepted as it is", async (t) => {
  const generated = execFileSync(
    'kubectl',
    [
      'create',
      'ingress',
      'from-kubectl',
      '--rule=foo.example.com/bar*=svc1:8080,tls=my-cert',
      '--rule=/path=svc2:http',
      '--default-backend=defsvc:80',
      '--annotation=team=web',
      '--dry-run=client',
      '-o',
      'json',
    ],
    { encoding: 'utf8' },
  );
  const reply = await send('POST', collection, JSON.parse(generated));
  t.is(reply.status, 201, JSON.stringify(reply.body));
  t.is(reply.body.spec.ingressClassName, 'bosun');
  t.is(reply.body.spec.rules[0].http.paths[0].pathType, 'Prefix');
});

test('status is written through the status subresource only, with addresses checked', async (t) => {
  const created = await send('POST', collection, ingress('with-status', { defaultBackend: backend() }));
  t.is(created.status, 201);
  const sneaked = { ...created.body, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } };
  const viaMain = await send('PUT', `${collection}/with-status`, sneaked);
  t.is(viaMain.status, 200);
  t.deepEqual(viaMain.body.status ?? {}, {}, 'the main resource keeps the stored status');

  const bad = structuredClone(viaMain.body);
  bad.status = { loadBalancer: { ingress: [{ ip: '192.0.2.300' }, { hostname: '192.0.2.1' }] } };
  const refused = await send('PUT', `${collection}/with-status/status`, bad);
  t.is(refused.status, 422, JSON.stringify(refused.body));
  t.regex(refused.body.message, /status\.loadBalancer\.ingress\[0\]\.ip: Invalid value: "192\.0\.2\.300"/);
  t.regex(
    refused.body.message,
    /status\.loadBalancer\.ingress\[1\]\.hostname: Invalid value: "192\.0\.2\.1": must be a DNS name, not an IP address/,
  );

  const good = structuredClone(viaMain.body);
  good.status = { loadBalancer: { ingress: [{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }] } };
  const written = await send('PUT', `${collection}/with-status/status`, good);
  t.is(written.status, 200, JSON.stringify(written.body));
  t.deepEqual(written.body.status.loadBalancer.ingress, [{ ip: '192.0.2.1' }, { ip: '192.0.2.2' }]);
});

test('IngressClass: controller required, domain-prefixed and immutable; parameters scoped as upstream', async (t) => {
  const make = (name: string, spec: Record<string, unknown>) =>
    send('POST', classes, { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name }, spec });
  const missing = await make('no-controller', {});
  t.is(missing.status, 422);
  t.is(
    missing.body.message,
    'IngressClass.networking.k8s.io "no-controller" is invalid: spec.controller: Required value',
  );
  const plain = await make('plain-controller', { controller: 'nginx' });
  t.is(plain.status, 422);
  t.is(
    plain.body.message,
    'IngressClass.networking.k8s.io "plain-controller" is invalid: spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")',
  );
  const namespaced = await make('ns-params', {
    controller: 'example.com/ingress',
    parameters: { kind: 'Config', name: 'c', scope: 'Namespace' },
  });
  t.is(namespaced.status, 422);
  t.is(
    namespaced.body.message,
    'IngressClass.networking.k8s.io "ns-params" is invalid: spec.parameters.namespace: Required value: `parameters.scope` is set to \'Namespace\'',
  );
  for (const name of ['no-controller', 'plain-controller', 'ns-params'])
    t.is((await send('GET', `${classes}/${name}`)).status, 404, `${name} was not stored`);

  const created = await make('example', {
    controller: 'example.com/ingress',
    parameters: { kind: 'Config', name: 'c' },
  });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is(created.body.spec.parameters.scope, 'Cluster', 'the scope defaults to Cluster');
  const changed = structuredClone(created.body);
  changed.spec.controller = 'example.com/other';
  const update = await send('PUT', `${classes}/example`, changed);
  t.is(update.status, 422);
  t.is(
    update.body.message,
    'IngressClass.networking.k8s.io "example" is invalid: spec.controller: Invalid value: "example.com/other": field is immutable',
  );
  t.is((await send('GET', `${classes}/example`)).body.spec.controller, 'example.com/ingress');
});

test('kubectl get ingress and ingressclass print upstream columns', async (t) => {
  await send(
    'POST',
    collection,
    ingress('table-hosts', {
      ingressClassName: 'bosun',
      tls: [{ hosts: ['a.example.com'], secretName: 'a-tls' }],
      rules: ['a', 'b', 'c', 'd'].map((h) => ({
        host: `${h}.example.com`,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend() }] },
      })),
    }),
  );
  const table = { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
  const reply = await call(endpoint(), 'GET', collection, admin(), undefined, 'application/json', table);
  t.deepEqual(
    reply.body.columnDefinitions.map((c: { name: string }) => c.name),
    ['Name', 'Class', 'Hosts', 'Address', 'Ports', 'Age'],
  );
  const row = reply.body.rows.find((r: { cells: string[] }) => r.cells[0] === 'table-hosts');
  t.deepEqual(row.cells.slice(1, 5), ['bosun', 'a.example.com,b.example.com,c.example.com + 1 more...', '', '80, 443']);

  const classTable = await call(endpoint(), 'GET', classes, admin(), undefined, 'application/json', table);
  t.deepEqual(
    classTable.body.columnDefinitions.map((c: { name: string }) => c.name),
    ['Name', 'Controller', 'Parameters', 'Age'],
  );
  const bosun = classTable.body.rows.find((r: { cells: string[] }) => r.cells[0] === 'bosun');
  t.deepEqual(bosun.cells.slice(1, 3), ['bosun.io/ingress-proxy', '<none>']);
});

test('a node reads Ingresses and classes and the TLS secrets Ingresses name, but no other secret and writes nothing', async (t) => {
  const secrets = '/api/v1/namespaces/default/secrets';
  for (const name of ['named-tls', 'unnamed']) {
    const made = await send('POST', secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name },
      type: 'Opaque',
      data: { x: 'eA==' },
    });
    t.is(made.status, 201);
  }
  await send(
    'POST',
    collection,
    ingress('names-secret', {
      defaultBackend: backend(),
      tls: [{ hosts: ['s.example.com'], secretName: 'named-tls' }],
    }),
  );
  const node = userIdentity(endpoint().dataDir, 'system:node:ing-node', ['system:nodes']);
  t.is((await send('GET', `${group}/ingresses`, undefined, node)).status, 200);
  t.is((await send('GET', classes, undefined, node)).status, 200);
  t.is((await send('GET', `${secrets}/named-tls`, undefined, node)).status, 200);
  t.is((await send('GET', `${secrets}/unnamed`, undefined, node)).status, 403);
  t.is((await send('GET', secrets, undefined, node)).status, 403, 'no listing of secrets');
  const write = await send('POST', collection, ingress('from-node', { defaultBackend: backend() }), node);
  t.is(write.status, 403);
  t.is((await send('GET', `${collection}/from-node`)).status, 404);
  // nor may it point clients elsewhere: the server's controller writes Ingress addresses
  const stored = (await send('GET', `${collection}/names-secret`)).body;
  const hijack = { ...stored, status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } };
  t.is((await send('PUT', `${collection}/names-secret/status`, hijack, node)).status, 403);
  t.deepEqual((await send('GET', `${collection}/names-secret`)).body.status ?? {}, stored.status ?? {});
  t.is((await send('GET', '/version')).status, 200, 'the server still answers');
});

test('a namespace admin may write Ingresses in its namespace but not IngressClasses', async (t) => {
  const nsAdmin = await namespaceAdmin(endpoint(), 'ing-team', 'ing-admin');
  const own = await send(
    'POST',
    '/apis/networking.k8s.io/v1/namespaces/ing-team/ingresses',
    ingress('team', { defaultBackend: backend() }),
    nsAdmin,
  );
  t.is(own.status, 201, JSON.stringify(own.body));
  const cls = await send(
    'POST',
    classes,
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'team-class' },
      spec: { controller: 'x.io/y' },
    },
    nsAdmin,
  );
  t.is(cls.status, 403);
  t.is((await send('GET', `${classes}/team-class`)).status, 404);
});

test('Ingresses go out as protobuf when the client prefers it', async (t) => {
  await send('POST', collection, ingress('proto', { defaultBackend: backend() }));
  const reply = await call(endpoint(), 'GET', `${collection}/proto`, admin(), undefined, 'application/json', {
    accept: 'application/vnd.kubernetes.protobuf',
  });
  t.is(reply.status, 200);
  t.regex(String(reply.headers['content-type']), /protobuf/);
});
