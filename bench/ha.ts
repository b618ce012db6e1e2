/**
 * High availability: `npm run bench -- ha [--quick] [--election upstream|fast]`.
 * Real `bosun server` processes on one real etcd (test/controlplane/ha/servers.ts):
 *  - failover: two servers with leader election (upstream's lease 15 s / renew 10 s / retry 2 s,
 *    or 4 s / 3 s / 1 s with --election fast); the leader is killed with -9 and, at once, a
 *    Deployment is created through the survivor: timed from the kill to the survivor's log saying
 *    it leads, and to the first controller write after it (the Deployment's ReplicaSet appearing).
 *    The killed server is started again as a standby before the next round. 10 kills (3 with --quick);
 *  - API throughput with 1 and then 3 servers on the same etcd, in the same run: 30 clients
 *    creating ConfigMaps round-robin over the servers for 10 s (4 s with --quick), as fast as the
 *    servers answer; writes/s and p50/p99 latency. On this 2-core machine three servers share the
 *    cores of one, so this shows what a second and third server cost, not what they add;
 *  - allocation: 500 values claimed by 24 concurrent allocators directly on etcd, once as one key
 *    per value (create-if-absent, what bosun does) and once as upstream's bitmap in one key
 *    (read, set a bit, compare-and-swap on the revision, retry on conflict): time and retries;
 *  - agent failover: three servers (API only); a node's clients through the agent's loopback
 *    balancer (agent/api-servers.ts), its lease renewed every second, a pod informer watching; the
 *    server the node uses is killed with -9 and started again, 10 times (3 with --quick): timed
 *    from the kill to the balancer sending new connections elsewhere (the switch), and to the next
 *    successful lease renewal (the switch plus up to one 1 s interval; the agent's own is 10 s
 *    against a 40 s lease); and the informer's relists (a resumed watch makes none). Same-run
 *    baseline: a lease GET with every server up.
 * Last line: one JSON object.
 */
import { parseArgs } from 'node:util';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClaimStore } from '../controlplane/allocation/claims.ts';
import { isStorageError } from '../controlplane/errors.ts';
import { EtcdStorage } from '../controlplane/storage/etcd.ts';
import { KubeClient } from '../kube/client.ts';
import { refs } from '../kube/resource-ref.ts';
import { startEtcd, type EtcdProcess } from '../test/controlplane/etcd-process.ts';
import { waitFor } from '../test/controlplane/ports.ts';
import {
  deployment,
  fastElection,
  startHaServer,
  stopHaServers,
  type HaServer,
} from '../test/controlplane/ha/servers.ts';
import { percentile } from './soak/report.ts';
import { pino } from 'pino';
import { apiListWatch, Informer } from '../kube/informer.ts';
import { kubeLeaseApi } from '../agent/node/kube-lease-api.ts';
import { call, type ServerProcess } from '../test/controlplane/server-process.ts';
import { startServerFleet } from '../test/controlplane/server-fleet.ts';
import { balancedNode } from '../test/agent/balanced-node.ts';
import { writeResult } from './report/write-result.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    election: { type: 'string', default: 'upstream' },
  },
});
const quick = values.quick;
const kills = quick ? 3 : 10;
const loadSeconds = quick ? 4 : 10;
const loadClients = 30;
const electionArgs = values.election === 'fast' ? fastElection : [];
const round = (n: number) => Math.round(n * 10) / 10;
const log = (line: string) => process.stdout.write(`${line}\n`);

/** An admin client of `server`, with the cluster's credentials from `pkiFrom` (a data folder). */
function clientFor(server: HaServer, pkiFrom: { dataDir: string }): KubeClient {
  const pki = (name: string) => readFileSync(join(pkiFrom.dataDir, 'pki', name), 'utf8');
  return new KubeClient({
    server: server.process.url,
    ca: pki('ca.crt'),
    cert: pki('admin.crt'),
    key: pki('admin.key'),
    maxConnections: 32,
  });
}

const leases = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true };

async function leaderOf(servers: readonly HaServer[], client: KubeClient): Promise<HaServer | undefined> {
  const lease = await client.get(leases, 'kube-controller-manager', 'kube-system');
  const holder = (lease.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
  return servers.find((s) => s.identity() === holder);
}

async function failover(etcd: EtcdProcess): Promise<{ leads: number[]; writes: number[] }> {
  const first = await startHaServer({ etcdFlags: etcd.serverFlags, serverArgs: electionArgs });
  // the cluster's pki outlives whichever server is killed
  const pkiHolder = { dataDir: mkdtempSync(join(tmpdir(), 'bosun-ha-pki-')) };
  cpSync(join(first.process.dataDir, 'pki'), join(pkiHolder.dataDir, 'pki'), { recursive: true });
  let servers = [
    first,
    await startHaServer({ etcdFlags: etcd.serverFlags, sharePkiWith: pkiHolder, serverArgs: electionArgs }),
  ];
  const leads: number[] = [];
  const writes: number[] = [];
  try {
    for (let round = 0; round < kills; round++) {
      const probe = clientFor(servers[0]!, pkiHolder);
      let leader: HaServer | undefined;
      await waitFor(
        'a leader among the servers',
        async () => (leader = await leaderOf(servers, probe)) !== undefined,
        60_000,
      );
      probe.close();
      const survivor = servers.find((s) => s !== leader)!;
      const api = clientFor(survivor, pkiHolder);
      const ledBefore = survivor.leadership('kube-system/kube-controller-manager').length;
      const killedAt = Date.now();
      await leader!.process.kill();
      const name = `failover-${round}`;
      await api.create(refs.deployments, deployment(name));
      await waitFor(
        'the survivor to lead',
        () => survivor.leadership('kube-system/kube-controller-manager').length > ledBefore,
        60_000,
      );
      leads.push(survivor.leadership('kube-system/kube-controller-manager').at(-1)!.time - killedAt);
      await waitFor(
        `a ReplicaSet for ${name}`,
        async () =>
          (await api.list(refs.replicasets, { namespace: 'default', labelSelector: `app=${name}` })).items.length > 0,
        60_000,
      );
      writes.push(Date.now() - killedAt);
      api.close();
      log(`kill ${round + 1}/${kills}: led after ${leads.at(-1)} ms, next controller write after ${writes.at(-1)} ms`);
      // the killed server comes back as a standby (a new process, a new identity)
      await stopHaServers([leader]);
      const restarted = await startHaServer({
        etcdFlags: etcd.serverFlags,
        sharePkiWith: pkiHolder,
        serverArgs: electionArgs,
      });
      servers = [survivor, restarted];
    }
  } finally {
    await stopHaServers(servers);
    rmSync(pkiHolder.dataDir, { recursive: true, force: true });
  }
  return { leads, writes };
}

async function throughput(
  servers: readonly HaServer[],
): Promise<{ writes_per_s: number; p50_ms: number; p99_ms: number; errors: number }> {
  const clients = servers.map((s) => clientFor(s, servers[0]!.process));
  const samples: number[] = [];
  let errors = 0;
  let serial = 0;
  const until = performance.now() + loadSeconds * 1000;
  const worker = async (w: number) => {
    while (performance.now() < until) {
      const client = clients[serial % clients.length]!;
      const name = `load-${servers.length}-${w}-${serial++}`;
      const started = performance.now();
      try {
        await client.create(refs.configmaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, namespace: 'default' },
          data: { a: 'b' },
        });
        samples.push(performance.now() - started);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: loadClients }, (_, w) => worker(w)));
  for (const client of clients) client.close();
  return {
    writes_per_s: round(samples.length / loadSeconds),
    p50_ms: round(percentile(samples, 50)),
    p99_ms: round(percentile(samples, 99)),
    errors,
  };
}

async function apiThroughput(etcd: EtcdProcess) {
  const servers = [await startHaServer({ etcdFlags: etcd.serverFlags, controllers: false })];
  try {
    const one = await throughput(servers);
    log(`1 server: ${one.writes_per_s} writes/s, p50 ${one.p50_ms} ms, p99 ${one.p99_ms} ms`);
    for (let i = 0; i < 2; i++)
      servers.push(
        await startHaServer({ etcdFlags: etcd.serverFlags, controllers: false, sharePkiWith: servers[0]!.process }),
      );
    const three = await throughput(servers);
    log(`3 servers: ${three.writes_per_s} writes/s, p50 ${three.p50_ms} ms, p99 ${three.p99_ms} ms`);
    return { one_server: one, three_servers: three };
  } finally {
    await stopHaServers(servers);
  }
}

/** 500 allocations by 24 allocators: one key per value, then a bitmap in one key with CAS. */
async function allocation(etcd: EtcdProcess) {
  const storage = new EtcdStorage([etcd.endpoint], etcd.clientTls);
  const count = 500;
  const allocators = 24;
  try {
    const claims = new ClaimStore(storage);
    let next = 0;
    let started = performance.now();
    await Promise.all(
      Array.from({ length: allocators }, async () => {
        for (let i = next++; i < count; i = next++)
          await claims.claim('nodePort', String(30000 + i), { namespace: 'bench', name: `s${i}`, uid: `u${i}` });
      }),
    );
    const perKeyMs = performance.now() - started;
    // the bitmap: one key holding every allocated value (as upstream's RangeAllocation)
    const key = '/registry/bosun.io/bench-bitmap';
    await storage.create(key, JSON.stringify({ bits: '' }));
    let retries = 0;
    next = 0;
    started = performance.now();
    await Promise.all(
      Array.from({ length: allocators }, async () => {
        while (next++ < count) {
          for (;;) {
            const kv = (await storage.get(key))!;
            const bits = new Set((JSON.parse(kv.value) as { bits: string }).bits.split(',').filter(Boolean));
            let value = 0;
            while (bits.has(String(value))) value++;
            bits.add(String(value));
            try {
              await storage.update(key, JSON.stringify({ bits: [...bits].join(',') }), kv.modRevision);
              break;
            } catch (err) {
              if (!isStorageError(err, 'BOSUN_STORAGE_CONFLICT')) throw err;
              retries++;
            }
          }
        }
      }),
    );
    const bitmapMs = performance.now() - started;
    log(
      `allocation of ${count} values by ${allocators} at once: one key per value ${Math.round(perKeyMs)} ms; bitmap with CAS ${Math.round(bitmapMs)} ms (${retries} conflicts retried)`,
    );
    return {
      values: count,
      per_key_ms: Math.round(perKeyMs),
      bitmap_ms: Math.round(bitmapMs),
      bitmap_conflicts: retries,
    };
  } finally {
    await storage.close();
  }
}

/** The agent's switch when the server it uses is killed: `kills` times over three servers. */
async function agentFailover(etcd: EtcdProcess) {
  const renewIntervalMs = 1_000;
  const quiet = pino({ level: 'silent' });
  const fleet = await startServerFleet(etcd, 3);
  try {
    const servers = fleet.servers;
    const node = await balancedNode(servers[0]!, servers.slice(1), 'bench-node', quiet, renewIntervalMs);
    const { balanced, client, leaseClient, lease } = node;
    const pods = new Informer(apiListWatch(client, refs.pods, { fieldSelector: 'spec.nodeName=bench-node' }), {
      retryMs: 100,
    });
    const stop = new AbortController();
    const leaseLoop = lease.run(stop.signal);
    const podLoop = pods.run();
    await pods.synced;
    const roundTrips: number[] = [];
    const api = kubeLeaseApi(leaseClient);
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await api.get('kube-node-lease', 'bench-node');
      roundTrips.push(performance.now() - started);
    }
    const switches: number[] = [];
    const renewals: number[] = [];
    for (let k = 0; k < kills; k++) {
      const index = servers.findIndex((s) => s.url === balanced.balancer.current);
      if (index < 0) throw new Error(`the balancer uses ${balanced.balancer.current}, which is none of the servers`);
      const victim = servers[index]!;
      const renewedBefore = lease.renewals;
      const killedAt = performance.now();
      await victim.kill();
      await waitFor('the balancer to switch', () => balanced.balancer.current !== victim.url, 30_000);
      switches.push(performance.now() - killedAt);
      await waitFor('a lease renewal after the kill', () => lease.renewals > renewedBefore, 30_000);
      renewals.push(performance.now() - killedAt);
      log(
        `agent kill ${k + 1}/${kills}: switched after ${Math.round(switches.at(-1)!)} ms, lease renewed after ${Math.round(renewals.at(-1)!)} ms`,
      );
      // started again on a new port, which the balancer is told of
      const restarted: ServerProcess = await victim.restart();
      servers[index] = restarted;
      balanced.balancer.setServers(servers.map((s) => s.url));
      await waitFor(
        'the restarted server healthy again',
        async () => (await call(restarted, 'GET', '/readyz')).status === 200,
        60_000,
      );
    }
    stop.abort();
    pods.stop();
    await Promise.allSettled([leaseLoop, podLoop]);
    node.close();
    return {
      renew_interval_ms: renewIntervalMs,
      switch_p50_ms: Math.round(percentile(switches, 50)),
      switch_p99_ms: Math.round(percentile(switches, 99)),
      next_renewal_p50_ms: Math.round(percentile(renewals, 50)),
      next_renewal_p99_ms: Math.round(percentile(renewals, 99)),
      baseline_lease_get_p50_ms: round(percentile(roundTrips, 50)),
      pod_informer_relists: pods.lists - 1,
    };
  } finally {
    await fleet.destroy();
  }
}

const etcd = await startEtcd();
try {
  const alloc = await allocation(etcd);
  const api = await apiThroughput(etcd);
  const { leads, writes } = await failover(etcd);
  const agent = await agentFailover(etcd);
  log(
    `agent switch p50 ${agent.switch_p50_ms} ms, p99 ${agent.switch_p99_ms} ms; next lease renewal p50 ${agent.next_renewal_p50_ms} ms, p99 ${agent.next_renewal_p99_ms} ms (renewing every ${agent.renew_interval_ms} ms; a lease GET with all servers up: ${agent.baseline_lease_get_p50_ms} ms); informer relists: ${agent.pod_informer_relists}`,
  );
  const result = {
    election: values.election,
    kills,
    failover_lead_p50_ms: percentile(leads, 50),
    failover_lead_p99_ms: percentile(leads, 99),
    failover_write_p50_ms: percentile(writes, 50),
    failover_write_p99_ms: percentile(writes, 99),
    agent_switch_p50_ms: agent.switch_p50_ms,
    agent_switch_p99_ms: agent.switch_p99_ms,
    agent_failover: agent,
    api,
    allocation: alloc,
    quick,
  };
  writeResult('ha', quick, result);
} finally {
  await etcd.destroy();
}
