/**
 * The built-in load balancer through a real server: defaulting and allocation of LoadBalancer
 * Services, and the controller filling their status from the nodes.
 */
import test, { type ExecutionContext } from 'ava';
import { ApiError } from '../../../kube/errors.ts';
import type { Node, Service } from '../../../kube/corev1.ts';
import { refs } from '../../../kube/resource-ref.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { waitFor } from '../../helpers/wait.ts';
import { sharedInProcess } from '../in-process.ts';

const shared = sharedInProcess(test, { controlLoops: { withoutScheduler: true } });

async function readyNode(name: string, ip: string): Promise<void> {
  const client = shared.client();
  const node = await client.create<Node>(refs.nodes, { metadata: { name, labels: { 'bosun.io/lb-pool': 'edge' } } });
  await client.updateStatus<Node>(refs.nodes, {
    ...node,
    status: {
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date().toISOString() }],
      addresses: [{ type: 'InternalIP', address: ip }],
    },
  });
}

// in order: the conflict test needs the first Service, and every test the two nodes
let nodesMade: Promise<void> | undefined;
const nodes = () => (nodesMade ??= readyNode('lb-a', '10.11.0.1').then(() => readyNode('lb-b', '10.11.0.2')));
test.beforeEach(() => nodes());

function lbService(name: string, spec: Partial<Service['spec']> = {}, annotations?: Record<string, string>): Service {
  return {
    metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
    spec: { type: 'LoadBalancer', ports: [{ port: 8080, protocol: 'TCP' }], ...spec },
  };
}

const getService = (name: string) => shared.client().get<Service>(refs.services, name, 'default');

function ingressOf(svc: Service): string {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(',');
}

test.serial('a LoadBalancer Service gets node ports and the Ready nodes’ addresses in its status', async (t) => {
  const created = await shared.client().create<Service>(refs.services, lbService('lb-web'));
  t.true(created.spec.allocateLoadBalancerNodePorts);
  t.true((created.spec.ports?.[0]?.nodePort ?? 0) >= 30000);
  const svc = await waitFor(
    async () => ingressOf(await getService('lb-web')) === '10.11.0.1,10.11.0.2' && getService('lb-web'),
    {
      what: 'lb-web announced on both nodes',
    },
  );
  t.is(svc.status?.conditions?.find((c) => c.type === 'bosun.io/LoadBalancerPortsAvailable')?.status, 'True');
});

test.serial('allocateLoadBalancerNodePorts: false allocates no node port', async (t) => {
  const created = await shared
    .client()
    .create<Service>(
      refs.services,
      lbService('lb-noport', { ports: [{ port: 8081, protocol: 'TCP' }], allocateLoadBalancerNodePorts: false }),
    );
  t.is(created.spec.ports?.[0]?.nodePort, undefined);
});

test.serial(
  'externalTrafficPolicy Local gets a health check node port, and no address without endpoints',
  async (t) => {
    const created = await shared.client().create<Service>(
      refs.services,
      lbService('lb-local', {
        ports: [{ port: 8082, protocol: 'TCP' }],
        externalTrafficPolicy: 'Local',
        selector: { app: 'none' },
      }),
    );
    t.true((created.spec.healthCheckNodePort ?? 0) >= 30000);
    t.not(created.spec.healthCheckNodePort, created.spec.ports?.[0]?.nodePort);
    const svc = await waitFor(
      async () => {
        const s = await getService('lb-local');
        return s.status?.conditions !== undefined && s;
      },
      { what: 'lb-local looked at by the load balancer' },
    );
    t.is(ingressOf(svc), '');
  },
);

test.serial(
  'a second Service on the same port is not announced where the first one is: condition and event say why',
  async (t) => {
    // created in the same second as lb-web: the name breaks the tie, and lb-web's sorts first
    await shared.client().create<Service>(refs.services, lbService('lb-z-second'));
    const svc = await waitFor(
      async () => {
        const s = await getService('lb-z-second');
        return (
          s.status?.conditions?.find((c) => c.type === 'bosun.io/LoadBalancerPortsAvailable')?.status === 'False' && s
        );
      },
      { what: 'lb-z-second reported as conflicting' },
    );
    t.is(ingressOf(svc), '');
    t.regex(
      svc.status?.conditions?.find((c) => c.status === 'False')?.message ?? '',
      /port 8080\/TCP is already served on 10\.11\.0\.1 by Service default\/lb-web/,
    );
    const events = await waitFor(
      async () => {
        const list = await shared
          .client()
          .list<KubeObject & { reason?: string; involvedObject?: { name?: string } }>(refs.events, {
            namespace: 'default',
          });
        const found = list.items.filter((e) => e.involvedObject?.name === 'lb-z-second' && e.reason === 'PortConflict');
        return found.length > 0 && found;
      },
      { what: 'a PortConflict event for lb-z-second' },
    );
    t.is(events.length, 1);
    // the older Service still holds both nodes
    t.is(ingressOf(await getService('lb-web')), '10.11.0.1,10.11.0.2');
  },
);

test.serial('another loadBalancerClass is left alone', async (t) => {
  await shared
    .client()
    .create<Service>(
      refs.services,
      lbService('lb-other', { ports: [{ port: 8083, protocol: 'TCP' }], loadBalancerClass: 'example.com/elsewhere' }),
    );
  await shared
    .client()
    .create<Service>(refs.services, lbService('lb-ours', { ports: [{ port: 8084, protocol: 'TCP' }] }));
  await waitFor(async () => ingressOf(await getService('lb-ours')) !== '', { what: 'lb-ours announced' });
  const other = await getService('lb-other');
  t.is(other.status?.loadBalancer?.ingress, undefined);
  t.is(other.status?.conditions, undefined);
});

/** The 422 a create or write gets, and that nothing named so was stored. */
async function refused(t: ExecutionContext, write: Promise<unknown>, message: string): Promise<void> {
  const err = await t.throwsAsync(write);
  t.true(err instanceof ApiError && err.code === 422, String(err));
  t.is(err?.message, message);
}

test.serial(
  'load-balancer fields on other types are refused as upstream refuses them, and nothing is stored',
  async (t) => {
    const client = shared.client();
    const cases: [string, Partial<Service['spec']>, string][] = [
      [
        'lbf-alloc',
        { allocateLoadBalancerNodePorts: false },
        "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'",
      ],
      [
        'lbf-class',
        { loadBalancerClass: 'example.com/x' },
        "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'",
      ],
      [
        'lbf-ranges',
        { loadBalancerSourceRanges: ['10.0.0.0/8'] },
        "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
      ],
      [
        'lbf-health',
        { healthCheckNodePort: 31999 },
        "spec.healthCheckNodePort: Invalid value: 31999: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      ],
    ];
    for (const [name, spec, detail] of cases) {
      await refused(
        t,
        client.create<Service>(refs.services, lbService(name, { type: 'NodePort', ...spec })),
        `Service "${name}" is invalid: ${detail}`,
      );
      await t.throwsAsync(getService(name), { instanceOf: ApiError, message: /not found/ });
    }
    await refused(
      t,
      client.create<Service>(refs.services, lbService('lbf-badclass', { loadBalancerClass: 'not a class!' })),
      `Service "lbf-badclass" is invalid: spec.loadBalancerClass: Invalid value: "not a class!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    );
  },
);

test.serial(
  'a LoadBalancer keeps its class and health check port; switching its type drops them as upstream does',
  async (t) => {
    const client = shared.client();
    const created = await client.create<Service>(
      refs.services,
      lbService('lbf-keep', {
        ports: [{ port: 8090, protocol: 'TCP' }],
        externalTrafficPolicy: 'Local',
        loadBalancerClass: 'example.com/keep',
      }),
    );
    await refused(
      t,
      client.patch(
        refs.services,
        'lbf-keep',
        { spec: { loadBalancerClass: 'example.com/other' } },
        { namespace: 'default' },
      ),
      'Service "lbf-keep" is invalid: spec.loadBalancerClass: Invalid value: "example.com/other": may not change once set',
    );
    const other = created.spec.healthCheckNodePort === 32000 ? 32001 : 32000;
    await refused(
      t,
      client.patch(refs.services, 'lbf-keep', { spec: { healthCheckNodePort: other } }, { namespace: 'default' }),
      'Service "lbf-keep" is invalid: spec.healthCheckNodePort: Forbidden: field is immutable',
    );
    t.is((await getService('lbf-keep')).spec.loadBalancerClass, 'example.com/keep');
    const switched = await client.patch<Service>(
      refs.services,
      'lbf-keep',
      { spec: { type: 'NodePort' } },
      { namespace: 'default' },
    );
    t.is(switched.spec.type, 'NodePort');
    t.is(switched.spec.loadBalancerClass, undefined);
    t.is(switched.spec.allocateLoadBalancerNodePorts, undefined);
    t.is(switched.spec.healthCheckNodePort, undefined);
  },
);

test.serial(
  'a LoadBalancer kept off the nodes by another Service’s node port is announced once that Service goes',
  async (t) => {
    const client = shared.client();
    await client.create<Service>(refs.services, {
      metadata: { name: 'lbf-nodeport', namespace: 'default' },
      spec: { type: 'NodePort', ports: [{ port: 8095, protocol: 'TCP', nodePort: 31995 }] },
    });
    await client.create<Service>(
      refs.services,
      lbService('lbf-blocked', { ports: [{ port: 31995, protocol: 'TCP' }] }),
    );
    const blocked = await waitFor(
      async () => {
        const s = await getService('lbf-blocked');
        return s.status?.conditions?.some((c) => c.status === 'False') && s;
      },
      { what: 'lbf-blocked kept off the nodes' },
    );
    t.regex(
      blocked.status?.conditions?.find((c) => c.status === 'False')?.message ?? '',
      /node port of Service default\/lbf-nodeport/,
    );
    await client.delete(refs.services, 'lbf-nodeport', { namespace: 'default' });
    await waitFor(async () => ingressOf(await getService('lbf-blocked')) === '10.11.0.1,10.11.0.2', {
      what: 'lbf-blocked announced once the node port is free',
      timeoutMs: 15_000,
    });
    t.pass();
  },
);
