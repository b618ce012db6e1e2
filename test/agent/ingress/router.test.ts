/**
 * The ingress router on upstream's matching cases: the path table of the Ingress documentation
 * ("Examples" under path types), host rules (exact, `*.` wildcard, none), default backends, and
 * how several Ingresses share hosts and paths.
 */
import test from 'ava';
import type { Ingress } from '../../../kube/networkingv1.ts';
import { buildRouteTable, normalPath, route, servedIngresses } from '../../../agent/ingress/router.ts';

type Path = { path?: string; pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific'; service: string };

let created = 0;
function ingress(name: string, rules: { host?: string; paths: Path[] }[], defaultService?: string): Ingress {
  created++;
  return {
    metadata: { name, namespace: 'web', creationTimestamp: `2026-01-01T00:00:${String(created).padStart(2, '0')}Z` },
    spec: {
      ingressClassName: 'bosun',
      ...(defaultService ? { defaultBackend: { service: { name: defaultService, port: { number: 80 } } } } : {}),
      rules: rules.map((r) => ({
        ...(r.host !== undefined ? { host: r.host } : {}),
        http: {
          paths: r.paths.map((p) => ({
            ...(p.path !== undefined ? { path: p.path } : {}),
            pathType: p.pathType,
            backend: { service: { name: p.service, port: { name: 'http' } } },
          })),
        },
      })),
    },
  };
}

const serviceFor = (ingresses: Ingress[], host: string, path: string) =>
  route(buildRouteTable(ingresses), host, path)?.service;

// upstream's documentation table: kind, rule paths, request path, matches
const documented: Array<[Path['pathType'] | 'Mixed', string[], string, boolean]> = [
  ['Prefix', ['/'], '/anything/at/all', true],
  ['Exact', ['/foo'], '/foo', true],
  ['Exact', ['/foo'], '/bar', false],
  ['Exact', ['/foo'], '/foo/', false],
  ['Exact', ['/foo/'], '/foo', false],
  ['Prefix', ['/foo'], '/foo', true],
  ['Prefix', ['/foo'], '/foo/', true],
  ['Prefix', ['/foo/'], '/foo', true],
  ['Prefix', ['/foo/'], '/foo/', true],
  ['Prefix', ['/aaa/bb'], '/aaa/bbb', false],
  ['Prefix', ['/aaa/bbb'], '/aaa/bbb', true],
  ['Prefix', ['/aaa/bbb/'], '/aaa/bbb', true],
  ['Prefix', ['/aaa/bbb'], '/aaa/bbb/', true],
  ['Prefix', ['/aaa/bbb'], '/aaa/bbb/ccc', true],
  ['Prefix', ['/aaa/bbb'], '/aaa/bbbxyz', false],
  ['Prefix', ['/', '/aaa'], '/aaa/ccc', true],
  ['Prefix', ['/', '/aaa', '/aaa/bbb'], '/aaa/bbb', true],
  ['Prefix', ['/', '/aaa', '/aaa/bbb'], '/ccc', true],
  ['Prefix', ['/aaa'], '/ccc', false],
  ['ImplementationSpecific', ['/aaa/bbb'], '/aaa/bbb/ccc', true],
  ['ImplementationSpecific', ['/aaa/bbb'], '/aaa/bbbxyz', false],
];

for (const [kind, paths, request, matches] of documented) {
  test(`${kind} ${paths.join(', ')} ${matches ? 'matches' : 'does not match'} ${request}`, (t) => {
    // each rule path goes to its own service, so the winner is visible; the default catches misses
    const rules = paths.map((p) => ({ path: p, pathType: kind as Path['pathType'], service: `svc${p}` }));
    const got = serviceFor([ingress('doc', [{ paths: rules }], 'fallback')], 'example.com', request);
    if (!matches) return t.is(got, 'fallback');
    // the longest matching rule path wins
    const longest = paths
      .filter((p) => request.startsWith(p.replace(/\/$/, '')))
      .sort((a, b) => b.length - a.length)[0];
    t.is(got, `svc${longest}`);
  });
}

test('Mixed /foo (Prefix) and /foo (Exact): a request for /foo prefers Exact, /foo/x takes Prefix', (t) => {
  const both = ingress('mixed', [
    {
      paths: [
        { path: '/foo', pathType: 'Prefix', service: 'prefix' },
        { path: '/foo', pathType: 'Exact', service: 'exact' },
      ],
    },
  ]);
  t.is(serviceFor([both], 'a.example.com', '/foo'), 'exact');
  t.is(serviceFor([both], 'a.example.com', '/foo/x'), 'prefix');
});

test('the query string and dot segments do not change the match', (t) => {
  const web = ingress('dots', [{ paths: [{ path: '/api', pathType: 'Prefix', service: 'api' }] }], 'fallback');
  t.is(serviceFor([web], 'x', '/api?x=/other'), 'api');
  t.is(serviceFor([web], 'x', '/static/../api/v1'), 'api');
  t.is(serviceFor([web], 'x', '/api/../static'), 'fallback');
  t.is(normalPath('/a/./b/../c'), '/a/c');
  t.is(normalPath('/a/..'), '/');
  t.is(normalPath('*'), '/');
});

test('an ImplementationSpecific rule without a path matches everything under its host', (t) => {
  const all = ingress('nopath', [
    { host: 'a.example.com', paths: [{ pathType: 'ImplementationSpecific', service: 'all' }] },
  ]);
  t.is(serviceFor([all], 'a.example.com', '/x/y'), 'all');
});

test('hosts: exact wins over a wildcard, which wins over rules without a host', (t) => {
  const set = [
    ingress('any', [{ paths: [{ path: '/', pathType: 'Prefix', service: 'any' }] }]),
    ingress('wild', [{ host: '*.example.com', paths: [{ path: '/', pathType: 'Prefix', service: 'wild' }] }]),
    ingress('exact', [{ host: 'foo.example.com', paths: [{ path: '/', pathType: 'Prefix', service: 'exact' }] }]),
  ];
  t.is(serviceFor(set, 'foo.example.com', '/'), 'exact');
  t.is(serviceFor(set, 'FOO.example.com:8080', '/'), 'exact', 'the Host header is matched without port and case');
  t.is(serviceFor(set, 'foo.example.com.', '/'), 'exact', 'a trailing dot is the same name');
  t.is(serviceFor(set, 'bar.example.com', '/'), 'wild');
  t.is(serviceFor(set, 'baz.bar.example.com', '/'), 'any', 'a wildcard covers exactly one label');
  t.is(serviceFor(set, 'example.com', '/'), 'any', 'a wildcard does not cover its own suffix');
  t.is(serviceFor(set, '10.0.0.1', '/'), 'any');
});

test('a host chosen but no path matching: its Ingress default backend, else the first default, else nothing', (t) => {
  const withDefault = ingress(
    'has-default',
    [{ host: 'a.example.com', paths: [{ path: '/app', pathType: 'Prefix', service: 'app' }] }],
    'a-default',
  );
  const other = ingress('other', [
    { host: 'b.example.com', paths: [{ path: '/app', pathType: 'Exact', service: 'b' }] },
  ]);
  t.is(serviceFor([withDefault, other], 'a.example.com', '/else'), 'a-default');
  t.is(serviceFor([withDefault, other], 'b.example.com', '/else'), 'a-default', 'the cluster-wide default');
  t.is(serviceFor([withDefault, other], 'c.example.com', '/'), 'a-default', 'no host matched');
  t.is(serviceFor([other], 'b.example.com', '/else'), undefined, 'no default at all: 404');
});

test('two Ingresses claiming one host and path: the older wins; distinct paths merge', (t) => {
  const older = ingress('older', [
    { host: 'a.example.com', paths: [{ path: '/', pathType: 'Prefix', service: 'older' }] },
  ]);
  const newer = ingress('newer', [
    {
      host: 'a.example.com',
      paths: [
        { path: '/', pathType: 'Prefix', service: 'newer' },
        { path: '/api', pathType: 'Prefix', service: 'api' },
      ],
    },
  ]);
  t.is(serviceFor([newer, older], 'a.example.com', '/'), 'older');
  t.is(serviceFor([newer, older], 'a.example.com', '/api/x'), 'api');
  const decision = route(buildRouteTable([newer, older]), 'a.example.com', '/api');
  t.deepEqual(decision, { ingress: 'web/newer', namespace: 'web', service: 'api', portName: 'http' });
});

test('only Ingresses of a class served by this controller, and none being deleted', (t) => {
  const mine = ingress('mine', [{ paths: [{ path: '/', pathType: 'Prefix', service: 'a' }] }]);
  const annotated: Ingress = {
    ...mine,
    metadata: { ...mine.metadata, name: 'annotated', annotations: { 'kubernetes.io/ingress.class': 'bosun' } },
    spec: { ...mine.spec, ingressClassName: undefined as never },
  };
  delete annotated.spec!.ingressClassName;
  const custom: Ingress = {
    ...mine,
    metadata: { ...mine.metadata, name: 'custom' },
    spec: { ...mine.spec, ingressClassName: 'internal' },
  };
  const foreign: Ingress = {
    ...mine,
    metadata: { ...mine.metadata, name: 'nginx' },
    spec: { ...mine.spec, ingressClassName: 'nginx' },
  };
  const classless: Ingress = {
    ...mine,
    metadata: { ...mine.metadata, name: 'none' },
    spec: { rules: mine.spec!.rules! },
  };
  const going: Ingress = {
    ...mine,
    metadata: { ...mine.metadata, name: 'going', deletionTimestamp: '2026-01-01T00:00:00Z' },
  };
  const classes = [
    { metadata: { name: 'internal' }, spec: { controller: 'bosun.io/ingress-proxy' } },
    { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
  ];
  const served = servedIngresses([mine, annotated, custom, foreign, classless, going], classes);
  t.deepEqual(
    served.map((i) => i.metadata.name),
    ['mine', 'annotated', 'custom'],
  );
});

test('backends by port number, and backends that name no usable Service are left out', (t) => {
  const numbered: Ingress = {
    metadata: { name: 'num', namespace: 'ns1', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      rules: [
        {
          http: {
            paths: [
              { path: '/n', pathType: 'Prefix', backend: { service: { name: 'svc', port: { number: 8080 } } } },
              { path: '/r', pathType: 'Prefix', backend: { resource: { kind: 'Bucket', name: 'b' } } },
            ],
          },
        },
      ],
    },
  };
  const table = buildRouteTable([numbered]);
  t.deepEqual(route(table, 'x', '/n'), { ingress: 'ns1/num', namespace: 'ns1', service: 'svc', portNumber: 8080 });
  t.is(route(table, 'x', '/r'), undefined);
});
