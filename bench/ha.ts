/**
 * A control plane that loses a machine: `npm run bench -- ha [--quick]`.
 *
 * Agent failover. Three `bosun server` processes of one cluster on a real etcd (TLS); a node's
 * clients go through the agent's loopback balancer (agent/api-servers.ts) with its node lease
 * renewed every second and a pod informer watching. `kills` times over (10; 3 with --quick), the
 * server the node uses is killed with SIGKILL, and measured:
 *  - switch: kill → the balancer sends new connections to another server;
 *  - renewal: kill → the next successful lease renewal (the interval here is 1 s, so this is the
 *    switch plus up to a second of waiting for the next renewal; the agent's own interval is 10 s
 *    against a 40 s lease, so a node never comes near NotReady);
 *  - relists: lists the pod informer made after the first (a resumed watch makes none).
 * The killed server is started again (on a new port, given to the balancer) before the next kill.
 * Baseline in the same run: a renewal's own round trip with every server up.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { pino } from 'pino';
import { kubeLeaseApi } from '../agent/node/kube-lease-api.ts';
import { apiListWatch, Informer } from '../kube/informer.ts';
import { refs } from '../kube/resource-ref.ts';
import { startEtcd } from '../test/controlplane/etcd-process.ts';
import { call, type ServerProcess } from '../test/controlplane/server-process.ts';
import { balancedNode } from '../test/agent/balanced-node.ts';
import { startServerFleet } from '../test/controlplane/server-fleet.ts';
import { waitFor } from '../test/controlplane/ports.ts';
import { writeResult } from './report/write-result.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const kills = values.quick ? 3 : 10;
const renewIntervalMs = 1_000;

const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const round = (n: number) => Math.round(n);

const log = pino({ level: 'silent' });
const etcd = await startEtcd();
const fleet = await startServerFleet(etcd, 3);
try {
  const servers = fleet.servers;
  const first = servers[0]!;
  const node = await balancedNode(first, servers.slice(1), 'bench-node', log, renewIntervalMs);
  const { balanced, client, leaseClient, lease } = node;
  const pods = new Informer(apiListWatch(client, refs.pods, { fieldSelector: 'spec.nodeName=bench-node' }), {
    retryMs: 100,
  });
  const stop = new AbortController();
  const leaseLoop = lease.run(stop.signal);
  const podLoop = pods.run();
  await pods.synced;

  // baseline: renewals with every server up
  const api = kubeLeaseApi(leaseClient);
  const roundTrips: number[] = [];
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
    process.stdout.write(
      `kill ${k + 1}/${kills}: switched after ${round(switches.at(-1)!)} ms, renewed after ${round(renewals.at(-1)!)} ms\n`,
    );
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

  const result = {
    suite: 'ha',
    kills,
    renew_interval_ms: renewIntervalMs,
    agent_switch_p50_ms: round(percentile(switches, 50)),
    agent_switch_p99_ms: round(percentile(switches, 99)),
    agent_next_renewal_p50_ms: round(percentile(renewals, 50)),
    agent_next_renewal_p99_ms: round(percentile(renewals, 99)),
    baseline_lease_get_p50_ms: round(percentile(roundTrips, 50)),
    pod_informer_relists: pods.lists - 1,
    load_average_1m: Number(loadavg()[0]!.toFixed(2)),
  };
  process.stdout.write(
    `agent switch p50 ${result.agent_switch_p50_ms} ms, p99 ${result.agent_switch_p99_ms} ms; next lease renewal p50 ${result.agent_next_renewal_p50_ms} ms, p99 ${result.agent_next_renewal_p99_ms} ms (renewing every ${renewIntervalMs} ms; a lease GET with all servers up: ${result.baseline_lease_get_p50_ms} ms); informer relists: ${result.pod_informer_relists}\n`,
  );
  writeResult('ha', values.quick, result);
} finally {
  await fleet.destroy();
  await etcd.destroy();
}
