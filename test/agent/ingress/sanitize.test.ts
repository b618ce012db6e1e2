/**
 * The agent's second look at Ingresses: objects the API should have refused (wrong JSON types,
 * hosts that are no DNS names, relative paths, ports out of range) never reach the router, and
 * never stop the well-formed rules beside them from being served.
 */
import test from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import { sanitizeIngress } from '../../../agent/ingress/sanitize.ts';
import { buildRouteTable, route } from '../../../agent/ingress/router.ts';

const service = (name: unknown, port: unknown) => ({ service: { name, port } });

const hostile = {
  metadata: { name: 'mixed', namespace: 'web', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: {
    ingressClassName: 'bosun',
    defaultBackend: service('web', { number: 70000 }),
    tls: [{ hosts: ['ok.example.com', 'bad host', 7], secretName: '../etc' }, 'junk'],
    rules: [
      'not an object',
      { host: 42, http: { paths: [{ path: '/', pathType: 'Prefix', backend: service('web', { number: 80 }) }] } },
      {
        host: 'evil\r\nx: y',
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: service('web', { number: 80 }) }] },
      },
      {
        host: 'ok.example.com',
        http: {
          paths: [
            { path: 'relative', pathType: 'Prefix', backend: service('web', { number: 80 }) },
            { path: '/regex', pathType: 'Regex', backend: service('web', { number: 80 }) },
            { path: '/bad-service', pathType: 'Prefix', backend: service('../../x', { number: 80 }) },
            { path: '/bad-port', pathType: 'Prefix', backend: service('web', { name: 'no_such' }) },
            { path: '/good', pathType: 'Prefix', backend: service('web', { name: 'http' }) },
          ],
        },
      },
      { host: 'list.example.com', http: { paths: { not: 'a list' } } },
    ],
  },
} as unknown as KubeObject;

test('only the well-formed parts are kept, and each left-out part is named', (t) => {
  const { ingress, problems } = sanitizeIngress(hostile);
  t.truthy(ingress);
  t.deepEqual(
    ingress!.spec!.rules!.map((r) => [r.host, r.http?.paths.map((p) => p.path)]),
    [
      ['ok.example.com', ['/good']],
      ['list.example.com', []],
    ],
  );
  t.deepEqual(ingress!.spec!.tls, [{ hosts: ['ok.example.com'] }]);
  t.is(ingress!.spec!.defaultBackend, undefined);
  t.deepEqual(problems, [
    'rules[0]: not an object',
    'rules[1].host: not a DNS name',
    'rules[2].host: not a DNS name',
    'rules[3].http.paths[0].path: not an absolute path',
    'rules[3].http.paths[1]: no pathType',
    'rules[3].http.paths[2].backend: not a Service reference',
    'rules[3].http.paths[3].backend: no usable Service port',
    'defaultBackend: no usable Service port',
  ]);
  const table = buildRouteTable([ingress!]);
  t.like(route(table, 'ok.example.com', '/good/x'), { service: 'web', portName: 'http' });
  t.is(route(table, 'ok.example.com', '/regex'), undefined);
});

test('an object without a name or with a namespace that is no DNS label is dropped whole', (t) => {
  t.deepEqual(sanitizeIngress({ metadata: { namespace: 'web' } } as unknown as KubeObject), {
    ingress: undefined,
    problems: ['no name or namespace'],
  });
  t.is(sanitizeIngress({ metadata: { name: 'x', namespace: '../x' } } as KubeObject).ingress, undefined);
  t.truthy(
    sanitizeIngress({ metadata: { name: 'x', namespace: 'web' }, spec: 'junk' } as unknown as KubeObject).ingress,
  );
});
