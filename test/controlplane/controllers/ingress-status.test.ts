/**
 * The ingress-status controller's planner: Ingresses the built-in proxy serves are reached at
 * the InternalIP of every Ready node whose agent runs the proxy (--disable ingress: not listed);
 * others are left to their own controllers.
 */
import test from 'ava';
import type { Node } from '../../../kube/corev1.ts';
import type { Ingress } from '../../../kube/networkingv1.ts';
import { ingressAddresses, planIngressStatus } from '../../../controlplane/controllers/ingress-status.ts';

const node = (name: string, ip: string, ready: boolean, proxy = true): Node =>
  ({
    metadata: { name, ...(proxy ? { annotations: { 'bosun.io/ingress-proxy': 'http=80,https=443' } } : {}) },
    status: {
      addresses: [
        { type: 'Hostname', address: name },
        { type: 'InternalIP', address: ip },
      ],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  }) as Node;

const nodes = [
  node('n10', '192.0.2.10', true),
  node('n2', '192.0.2.2', true),
  node('down', '192.0.2.3', false),
  node('no-proxy', '192.0.2.4', true, false),
];

const ingress = (className: string, status?: Ingress['status']): Ingress => ({
  metadata: { name: 'web', namespace: 'default', resourceVersion: '7' },
  spec: { ingressClassName: className, defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
  ...(status ? { status } : {}),
});

test('the addresses are the InternalIPs of Ready nodes whose agent runs the proxy, in numeric order', (t) => {
  t.deepEqual(ingressAddresses(nodes), ['192.0.2.2', '192.0.2.10']);
});

test('an Ingress of the bosun class gets the addresses written through its status', (t) => {
  const plan = planIngressStatus(ingress('bosun'), [], nodes);
  t.is(plan.actions.length, 1);
  t.like(plan.actions[0], {
    kind: 'updateStatus',
    resource: 'ingresses',
    object: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.2' }, { ip: '192.0.2.10' }] } } },
  });
});

test('nothing to write when the status already says so; a node going NotReady is taken out', (t) => {
  const current = ingress('bosun', { loadBalancer: { ingress: [{ ip: '192.0.2.2' }, { ip: '192.0.2.10' }] } });
  t.deepEqual(planIngressStatus(current, [], nodes).actions, []);
  const oneDown = [node('n10', '192.0.2.10', false), node('n2', '192.0.2.2', true)];
  t.like(planIngressStatus(current, [], oneDown).actions[0], {
    object: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.2' }] } } },
  });
});

test('Ingresses of another controller class are left alone; a class made for the proxy counts', (t) => {
  const classes = [
    { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
    { metadata: { name: 'internal' }, spec: { controller: 'bosun.io/ingress-proxy' } },
  ];
  t.deepEqual(planIngressStatus(ingress('nginx'), classes, nodes).actions, []);
  t.is(planIngressStatus(ingress('internal'), classes, nodes).actions.length, 1);
});
