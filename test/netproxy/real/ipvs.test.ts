/**
 * IPVS on the real kernel, inside a lab namespace. This needs the kernel's ip_vs (and dummy)
 * modules plus the ipvsadm and ipset tools; where they are missing the test is registered as
 * skipped with the reason, so a run here shows it instead of passing silently.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { ipvsUnavailable } from '../../../netproxy/ipvs-applier.ts';
import { ServiceProxy } from '../../../netproxy/service-proxy.ts';
import { Lab, labUnavailable, waitFor } from './lab.ts';
import { Topology } from './topology.ts';

async function whyNot(): Promise<string | undefined> {
  const noLab = labUnavailable();
  if (noLab !== undefined) return noLab;
  if (!existsSync('/usr/sbin/ipvsadm')) return 'ipvsadm is not installed';
  const lab = new Lab();
  try {
    const ns = await lab.namespace('ipvsprobe');
    const r = await lab.inNs(ns, ['ipvsadm', '-Ln']);
    const why = ipvsUnavailable(r);
    if (why !== undefined) return `this kernel has no IPVS (ipvsadm -Ln: ${why})`;
    if (!existsSync('/usr/sbin/ipset') && !existsSync('/sbin/ipset')) return 'ipset is not installed';
    const dummy = await lab.inNs(ns, ['ip', 'link', 'add', 'probe0', 'type', 'dummy']);
    if (dummy.code !== 0) return `no dummy interfaces (${dummy.stderr.trim()})`;
    return undefined;
  } finally {
    await lab.destroy();
  }
}

const reason = await whyNot();

if (reason !== undefined) {
  process.stdout.write(`  - SKIP live IPVS test: ${reason}\n`);
  test.skip(`live IPVS: a cluster IP reaches a pod through IPVS — skipped: ${reason}`, () => {});
} else {
  const topo = new Topology();
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  test.after.always(async () => {
    stop.abort();
    await running;
    await topo.lab.destroy();
  });

  test('live IPVS: a cluster IP reaches a pod through IPVS', async (t) => {
    await topo.build();
    const node = topo.nodes[0]!;
    const pod = await topo.pod('pod-a', node);
    const client = await topo.pod('client', node, { http: false });
    const proxy = new ServiceProxy({
      nodeName: node.name,
      runner: topo.lab.runner(node.ns),
      config: { clusterCIDR: '10.244.0.0/16', masqueradeBit: 14, nodePortAddresses: [node.ip] },
      mode: 'ipvs',
      minSyncPeriodMs: 50,
    });
    running = proxy.run(stop.signal);
    proxy.onServiceUpdate(undefined, {
      metadata: { name: 'web', namespace: 'lab' },
      spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });
    proxy.onEndpointSliceUpdate(undefined, {
      metadata: { name: 'web-1', namespace: 'lab', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: [pod.ip], nodeName: node.name }],
    });
    const body = await waitFor(
      'the cluster IP answered through IPVS',
      async () => {
        const r = await topo.get(client.ns, 'http://10.96.0.10/', 1);
        return r.ok ? r.text : undefined;
      },
      10_000,
    );
    t.is(body, 'pod-a');
  });
}
