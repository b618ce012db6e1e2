/**
 * Three real `bosun server` processes on one real etcd hand out ClusterIPs and NodePorts: 500
 * NodePort Services created through all three at once get 500 distinct ClusterIPs and distinct
 * NodePorts (the service range is made small, /22, so that random picks collide often and only
 * the datastore claims keep them apart). A value one server handed out is refused by another, and
 * freed by a delete on one server it can be taken at once through another.
 */
import test from 'ava';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';
import { adminIdentity, call } from '../server-process.ts';
import { startHaServer, stopHaServers, type HaServer } from './servers.ts';

let etcd: EtcdProcess;
const servers: HaServer[] = [];

test.before(async () => {
  etcd = await startEtcd();
  const serverArgs = ['--service-cluster-ip-range', '10.96.0.0/22'];
  servers.push(await startHaServer({ etcdFlags: etcd.serverFlags, controllers: false, serverArgs }));
  for (let i = 1; i < 3; i++)
    servers.push(
      await startHaServer({
        etcdFlags: etcd.serverFlags,
        controllers: false,
        serverArgs,
        sharePkiWith: servers[0]!.process,
      }),
    );
});

test.after.always(async () => {
  await stopHaServers(servers);
  await etcd?.destroy();
});

const admin = () => adminIdentity(servers[0]!.process.dataDir);

function service(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'NodePort', selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }], ...spec },
  };
}

async function create(through: HaServer, body: unknown) {
  return call(through.process, 'POST', '/api/v1/namespaces/default/services', admin(), body);
}

test.serial(
  'a value one server handed out is refused by another; freed by a delete, another server takes it at once',
  async (t) => {
    const first = await create(
      servers[0]!,
      service('holder', { clusterIP: '10.96.3.200', ports: [{ port: 80, nodePort: 31999 }] }),
    );
    t.is(first.status, 201, JSON.stringify(first.body));
    const taken = await create(servers[1]!, service('thief', { clusterIP: '10.96.3.200' }));
    t.is(taken.status, 422);
    t.is(
      taken.body.message,
      'Service "thief" is invalid: spec.clusterIP: Invalid value: "10.96.3.200": provided IP is already allocated',
    );
    const portTaken = await create(servers[2]!, service('port-thief', { ports: [{ port: 80, nodePort: 31999 }] }));
    t.is(portTaken.status, 422);
    t.regex(
      portTaken.body.message,
      /spec.ports\[0\].nodePort: Invalid value: 31999: provided port is already allocated/,
    );
    for (const name of ['thief', 'port-thief']) {
      const gone = await call(servers[0]!.process, 'GET', `/api/v1/namespaces/default/services/${name}`, admin());
      t.is(gone.status, 404, `${name} was not stored`);
    }
    const deleted = await call(servers[0]!.process, 'DELETE', '/api/v1/namespaces/default/services/holder', admin());
    t.is(deleted.status, 200);
    const again = await create(
      servers[2]!,
      service('holder-2', { clusterIP: '10.96.3.200', ports: [{ port: 80, nodePort: 31999 }] }),
    );
    t.is(again.status, 201, JSON.stringify(again.body));
  },
);

test.serial('500 Services created through three servers at once get distinct ClusterIPs and NodePorts', async (t) => {
  const count = 500;
  const inFlight = 24;
  let next = 0;
  const failures: string[] = [];
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const reply = await create(servers[i % servers.length]!, service(`load-${i}`));
      if (reply.status !== 201) failures.push(`load-${i}: ${reply.status} ${reply.body?.message}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  t.log(`${count} Services through 3 servers in ${Math.round(performance.now() - started)} ms`);
  t.deepEqual(failures, []);
  const list = await call(servers[1]!.process, 'GET', '/api/v1/namespaces/default/services', admin());
  const loaded = list.body.items.filter((s: any) => s.metadata.name.startsWith('load-'));
  t.is(loaded.length, count);
  const ips = loaded.map((s: any) => s.spec.clusterIP);
  const ports = loaded.map((s: any) => s.spec.ports[0].nodePort);
  t.is(new Set(ips).size, count, 'no ClusterIP handed out twice');
  t.is(new Set(ports).size, count, 'no NodePort handed out twice');
});
