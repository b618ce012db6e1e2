/**
 * The proxy on real iptables (this host's iptables-nft) inside lab namespaces: two nodes each
 * running a ServiceProxy whose rules go through the real applier, pods with busybox servers,
 * and a client outside the cluster. See topology.ts for the addresses.
 */
import anyTest, { type TestFn } from 'ava';
import { join } from 'node:path';
import type { Service } from '../../../kube/corev1.ts';
import type { EndpointSlice } from '../../../kube/discoveryv1.ts';
import { ServiceProxy } from '../../../netproxy/service-proxy.ts';
import { labUnavailable, waitFor } from './lab.ts';
import { allSynced, outsideIP, startProxyLab, Topology, type LabPod } from './topology.ts';

const test = anyTest as TestFn;
const unavailable = labUnavailable();
const topo = new Topology();
const proxies: ServiceProxy[] = [];
const stop = new AbortController();
const runs: Promise<void>[] = [];
const pods: Record<string, LabPod> = {};

function svc(name: string, clusterIP: string, extra: Partial<Service['spec']> = {}, port = 80): Service {
  return {
    metadata: { name, namespace: 'lab' },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      ports: [{ name: 'http', port, protocol: 'TCP', targetPort: 8080 }],
      ...extra,
    },
  };
}

function slices(
  name: string,
  members: LabPod[],
  port = 8080,
  protocol: 'TCP' | 'UDP' = 'TCP',
  portName = 'http',
): EndpointSlice {
  return {
    metadata: { name: `${name}-1`, namespace: 'lab', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: portName, port, protocol }],
    endpoints: members.map((p) => ({ addresses: [p.ip], nodeName: p.node.name, conditions: { ready: true } })),
  };
}

/** Hands objects to every node's proxy, as the informers would. */
function publish(previous: Service | EndpointSlice | undefined, current: Service | EndpointSlice | undefined) {
  const kind = (current ?? previous) as { spec?: unknown };
  for (const p of proxies) {
    if (kind.spec !== undefined) p.onServiceUpdate(previous as Service | undefined, current as Service | undefined);
    else p.onEndpointSliceUpdate(previous as EndpointSlice | undefined, current as EndpointSlice | undefined);
  }
}

/** Waits until every proxy has synced what was published so far. */
const synced = () => allSynced(proxies, 10_000);
const namesSeen = (ns: string, url: string, tries: number) => topo.namesSeen(ns, url, tries);

test.before(async () => {
  if (unavailable !== undefined) return;
  await startProxyLab(topo, 'iptables', stop.signal, { pods, proxies, runs });
  publish(
    undefined,
    svc('web', '10.96.0.10', {
      type: 'NodePort',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }],
    }),
  );
  publish(undefined, slices('web', [pods.a!, pods.b!]));
  await synced();
});

test.after.always(async () => {
  stop.abort();
  await Promise.allSettled(runs);
  await topo.lab.destroy();
});

if (unavailable !== undefined) {
  process.stdout.write(`  - SKIP real-host proxy tests: ${unavailable}\n`);
  test.skip(`real-host proxy tests — skipped: ${unavailable}`, () => {});
} else {
  test.serial('a cluster IP reached from a pod on node 1 lands on pods of both nodes', async (t) => {
    const seen = await waitFor(
      'both pods answered through the cluster IP',
      async () => {
        const names = await namesSeen(pods.client!.ns, 'http://10.96.0.10/', 12);
        return names.has('pod-a') && names.has('pod-b') ? names : undefined;
      },
      15_000,
    );
    t.log([...seen]);
    t.false([...seen.keys()].some((k) => k.startsWith('error')));
  });

  test.serial('a node port on node 2, from a pod on node 1, lands on pods of both nodes', async (t) => {
    const seen = await waitFor(
      'both pods answered through node-2:30080',
      async () => {
        const names = await namesSeen(pods.client!.ns, `http://${topo.nodes[1]!.ip}:30080/`, 12);
        return names.has('pod-a') && names.has('pod-b') ? names : undefined;
      },
      15_000,
    );
    t.log([...seen]);
    t.true(seen.has('pod-a') && seen.has('pod-b'));
  });

  test.serial('a service without endpoints refuses at once', async (t) => {
    publish(undefined, svc('empty', '10.96.0.20'));
    await synced();
    const r = await topo.get(pods.client!.ns, 'http://10.96.0.20/', 5);
    t.false(r.ok);
    // refused (a REJECT rule answered), not timed out after 5 s (a DROP, or no rule at all)
    t.regex(r.text, /refused/i);
    t.log(`refused after ${r.ms} ms`);
  });

  test.serial('sessionAffinity ClientIP keeps a client on one pod (and without it, both are used)', async (t) => {
    publish(
      undefined,
      svc('sticky', '10.96.0.30', {
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      }),
    );
    publish(undefined, slices('sticky', [pods.a!, pods.b!]));
    await synced();
    const sticky = await namesSeen(pods.client!.ns, 'http://10.96.0.30/', 15);
    t.is(sticky.size, 1, JSON.stringify([...sticky]));
    t.false([...sticky.keys()][0]!.startsWith('error'));
    const plain = await namesSeen(pods.client!.ns, 'http://10.96.0.10/', 15);
    t.is(plain.size, 2, `control: ${JSON.stringify([...plain])}`);
  });

  test.serial('externalTrafficPolicy Local keeps the client source address; Cluster masquerades it', async (t) => {
    publish(
      undefined,
      svc('local', '10.96.0.40', {
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30090 }],
      }),
    );
    publish(undefined, slices('local', [pods.a!]));
    await synced();
    const node1 = topo.nodes[0]!.ip;
    const local = await topo.get(topo.outside, `http://${node1}:30090/cgi-bin/who`);
    t.true(local.ok, local.text);
    t.is(local.text, `pod-a ${outsideIP}`);
    // Control: the Cluster-policy node port hides the client behind the node.
    const cluster = await waitFor(
      'the Cluster node port answered from pod-a',
      async () => {
        const r = await topo.get(topo.outside, `http://${node1}:30080/cgi-bin/who`);
        return r.ok && r.text.startsWith('pod-a') ? r : undefined;
      },
      10_000,
    );
    t.not(cluster.text.split(' ')[1], outsideIP);
  });

  test.serial('hairpin: a pod reaches itself through its own service, seeing the node as the client', async (t) => {
    publish(undefined, svc('self', '10.96.0.60'));
    publish(undefined, slices('self', [pods.a!]));
    await synced();
    const r = await topo.get(pods.a!.ns, 'http://10.96.0.60/cgi-bin/who');
    t.true(r.ok, r.text);
    const [name, client] = r.text.split(' ');
    t.is(name, 'pod-a');
    t.not(client, pods.a!.ip, 'without masquerade the reply would bypass the reverse NAT');
  });

  test.serial('a UDP client keeps working when its only endpoint is replaced (conntrack cleaned)', async (t) => {
    const udpPeer = join(import.meta.dirname, 'udp-peer.ts');
    const serverA = topo.lab.spawn(pods.a!.ns, [process.execPath, udpPeer, 'server', '5353', 'udp-a']);
    const serverB = topo.lab.spawn(pods.b!.ns, [process.execPath, udpPeer, 'server', '5353', 'udp-b']);
    let gotA = '';
    let gotB = '';
    serverA.stdout!.on('data', (c: Buffer) => {
      gotA += c.toString();
    });
    serverB.stdout!.on('data', (c: Buffer) => {
      gotB += c.toString();
    });
    const dns = {
      metadata: { name: 'dns', namespace: 'lab' },
      spec: {
        type: 'ClusterIP' as const,
        clusterIP: '10.96.0.53',
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' as const }],
      },
    };
    const toA = slices('dns', [pods.a!], 5353, 'UDP', 'dns');
    publish(undefined, dns);
    publish(undefined, toA);
    await synced();
    // 600 datagrams, 25 ms apart: at most 15 s, from one source port, so it stays one conntrack flow.
    const client = topo.lab.spawn(pods.client!.ns, [
      process.execPath,
      udpPeer,
      'client',
      '10.96.0.53',
      '53',
      '40053',
      '600',
      '25',
    ]);
    let replies = '';
    client.stdout!.on('data', (c: Buffer) => {
      replies += c.toString();
    });
    try {
      await waitFor('pod-a received the UDP flow', async () => (gotA.includes('udp-a got') ? true : undefined), 5000);
      publish(toA, slices('dns', [pods.b!], 5353, 'UDP', 'dns'));
      await waitFor(
        'the same UDP flow reached pod-b after the replacement',
        async () => (gotB.includes('udp-b got') ? true : undefined),
        3000,
      );
      const afterSwitch = gotA.length;
      await waitFor('replies from pod-b', async () => (replies.includes('reply udp-b') ? true : undefined), 2000);
      await new Promise((r) => setTimeout(r, 200)); // a few more datagrams go out; none may reach pod-a
      t.is(gotA.length, afterSwitch, 'pod-a got nothing after the switch');
    } finally {
      for (const c of [client, serverA, serverB]) await topo.lab.stop(c);
    }
  });

  test.serial('`iptables -t nat -F` inside the node is repaired by the full sync the canary triggers', async (t) => {
    const node1 = topo.nodes[0]!;
    const fullSyncs = proxies[0]!.metrics.fullSyncDuration.count;
    const flush = await topo.lab.inNs(node1.ns, ['iptables-nft', '-w', '-t', 'nat', '-F']);
    t.is(flush.code, 0, flush.stderr);
    const flushedAt = Date.now();
    const repaired = await waitFor(
      'the cluster IP works again',
      async () => {
        const r = await topo.get(pods.client!.ns, 'http://10.96.0.10/', 1);
        return r.ok ? Date.now() - flushedAt : undefined;
      },
      20_000,
    );
    // the canary is checked every 500 ms: about a second here when the machine is idle; the figure
    // is logged, and only a repair that takes longer than many canary periods fails
    t.log(`repaired after ${repaired} ms`);
    t.true(repaired <= 10_000, `took ${repaired} ms`);
    const saved = await topo.lab.inNs(node1.ns, ['iptables-nft-save', '-t', 'nat']);
    t.true(saved.stdout.includes('-A BOSUN-PROXY-CANARY'), 'canary restored');
    t.true(
      proxies[0]!.metrics.fullSyncDuration.count > fullSyncs,
      'the repair was a full sync triggered by the canary',
    );
  });

  test.serial('route_localnet is never set in the node namespaces', async (t) => {
    for (const node of topo.nodes) {
      const r = await topo.lab.inNs(node.ns, ['sysctl', '-n', 'net.ipv4.conf.all.route_localnet']);
      t.is(r.stdout.trim(), '0', node.name);
    }
  });
}
