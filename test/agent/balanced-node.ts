/**
 * A node's API side as the agent builds it with several servers, for failover tests and the ha
 * bench: the Node registered through the first server, a node identity from the cluster CA, its
 * clients through the loopback balancer (agent/api-servers.ts), and its lease (not yet running).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { balanceApiServers, type BalancedApi } from '../../agent/api-servers.ts';
import { kubeLeaseApi } from '../../agent/node/kube-lease-api.ts';
import { NodeLease } from '../../agent/node/lease.ts';
import { KubeClient } from '../../kube/client.ts';
import { systemClock } from '../../kube/clock.ts';
import { refs } from '../../kube/resource-ref.ts';
import { adminIdentity, call, userIdentity, type ServerProcess } from '../controlplane/server-process.ts';

interface BalancedNode {
  readonly balanced: BalancedApi;
  /** Through the balancer, as the agent's main client. */
  readonly client: KubeClient;
  /** Through the balancer, as the agent's heartbeat client (10 s per request). */
  readonly leaseClient: KubeClient;
  readonly lease: NodeLease;
  close(): void;
}

export async function balancedNode(
  first: ServerProcess,
  others: readonly ServerProcess[],
  name: string,
  log: Logger,
  renewIntervalMs: number,
): Promise<BalancedNode> {
  const created = await call(first, 'POST', '/api/v1/nodes', adminIdentity(first.dataDir), { metadata: { name } });
  if (created.status !== 201) throw new Error(`registering node ${name}: ${created.status}`);
  const identity = userIdentity(first.dataDir, `system:node:${name}`, ['system:nodes']);
  const balanced = await balanceApiServers(
    {
      server: first.url,
      ca: readFileSync(join(first.dataDir, 'pki/ca.crt'), 'utf8'),
      cert: identity.cert!,
      key: identity.key!,
    },
    others.map((s) => s.url),
    log,
  );
  const client = new KubeClient(balanced.client);
  const leaseClient = new KubeClient({ ...balanced.client, timeoutMs: 10_000 });
  const node = await client.get(refs.nodes, name);
  const lease = new NodeLease({
    api: kubeLeaseApi(leaseClient),
    nodeName: name,
    nodeUid: node.metadata.uid,
    clock: systemClock,
    log,
    renewIntervalMs,
  });
  return {
    balanced,
    client,
    leaseClient,
    lease,
    close: () => {
      client.close();
      leaseClient.close();
      balanced.close();
    },
  };
}
