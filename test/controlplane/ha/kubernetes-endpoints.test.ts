/**
 * The `kubernetes` Service's endpoints come from the live servers' leases: two real servers on one
 * etcd (advertising 127.0.0.2 and 127.0.0.3, leases of 3 s renewed every second) are both listed;
 * killed with -9, a server leaves the Endpoints and EndpointSlices within its lease time; a server
 * that stops gracefully leaves at once.
 */
import test from 'ava';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';
import { waitFor } from '../ports.ts';
import { adminIdentity, call } from '../server-process.ts';
import { startHaServer, stopHaServers, type HaServer } from './servers.ts';

let etcd: EtcdProcess;
const servers: HaServer[] = [];
const leaseFlags = ['--apiserver-lease-duration', '3s', '--apiserver-lease-renew-interval', '1s'];

test.before(async () => {
  etcd = await startEtcd();
  for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
    servers.push(
      await startHaServer({
        etcdFlags: etcd.serverFlags,
        controllers: false,
        serverArgs: ['--advertise-address', address, ...leaseFlags],
        ...(servers[0] ? { sharePkiWith: servers[0].process } : {}),
      }),
    );
  }
});

test.after.always(async () => {
  await stopHaServers(servers);
  await etcd?.destroy();
});

const admin = () => adminIdentity(servers[0]!.process.dataDir);

/** The addresses in the Endpoints and in the EndpointSlices of the `kubernetes` Service, as read through `through`. */
async function listed(through: HaServer): Promise<{ endpoints: string[]; slices: string[] }> {
  const endpoints = await call(through.process, 'GET', '/api/v1/namespaces/default/endpoints/kubernetes', admin());
  const slices = await call(
    through.process,
    'GET',
    '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes',
    admin(),
  );
  return {
    endpoints: (endpoints.body.subsets ?? []).flatMap((s: any) => s.addresses.map((a: any) => a.ip)).sort(),
    slices: slices.body.items.flatMap((s: any) => s.endpoints.flatMap((e: any) => e.addresses)).sort(),
  };
}

test.serial('every live server has a labelled lease and is listed in the endpoints', async (t) => {
  await waitFor('all three servers listed', async () => (await listed(servers[0]!)).endpoints.length === 3, 10_000);
  t.deepEqual(await listed(servers[1]!), {
    endpoints: ['127.0.0.2', '127.0.0.3', '127.0.0.4'],
    slices: ['127.0.0.2', '127.0.0.3', '127.0.0.4'],
  });
  const leases = await call(
    servers[0]!.process,
    'GET',
    '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?labelSelector=apiserver.kubernetes.io%2Fidentity%3Dkube-apiserver',
    admin(),
  );
  t.is(leases.body.items.length, 3);
  for (const lease of leases.body.items) {
    t.regex(lease.metadata.name, /^apiserver-[0-9a-f]{16}$/);
    t.is(lease.spec.holderIdentity, lease.metadata.name);
    t.is(lease.spec.leaseDurationSeconds, 3);
  }
});

test.serial('a server killed with -9 leaves the endpoints within its lease time', async (t) => {
  const killed = servers[2]!;
  const killedAt = Date.now();
  await killed.process.kill();
  await waitFor(
    'the killed server to leave the endpoints',
    async () => {
      const now = await listed(servers[0]!);
      return !now.endpoints.includes('127.0.0.4') && !now.slices.includes('127.0.0.4');
    },
    10_000,
  );
  const tookMs = Date.now() - killedAt;
  t.log(`left the endpoints ${tookMs} ms after kill -9`);
  // the lease (3 s) plus at most one renew interval of the servers that notice (1 s), plus a read
  t.true(tookMs <= 3_000 + 1_000 + 1_500, `took ${tookMs} ms`);
  t.deepEqual((await listed(servers[1]!)).endpoints, ['127.0.0.2', '127.0.0.3']);
});

test.serial('a server that stops gracefully leaves without waiting for its lease to expire', async (t) => {
  await servers[1]!.process.destroy();
  const stoppedAt = Date.now();
  // it takes itself out as it stops; a pass of another server that read the leases just before
  // may put it back, until that server's next pass (one renew interval, 1 s here)
  await waitFor(
    'the stopped server to leave the endpoints',
    async () =>
      JSON.stringify(await listed(servers[0]!)) === JSON.stringify({ endpoints: ['127.0.0.2'], slices: ['127.0.0.2'] }),
    1_500,
  );
  t.log(`left ${Date.now() - stoppedAt} ms after the process ended`);
  t.pass();
});
