/**
 * What one pod network sync costs with many peers, through the real executor (iproute2, iptables)
 * in a scratch network namespace: the first sync (bosun.1 made, every peer's route, neighbour and
 * FDB entry added) and a sync that finds everything in place (the steady state: reads only).
 * Peers sit behind a router (not on a connected subnet), so auto routes each over VXLAN: the most
 * entries per peer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { mustRun } from '../../host/process/run.ts';
import { ProcessRunner } from '../../netproxy/command-runner.ts';
import { IpCommandHost } from '../../agent/pod-network/ip-host.ts';
import { PodNetwork } from '../../agent/pod-network/pod-network.ts';
import { podNetworkAnnotations } from '../../agent/pod-network/settings.ts';
import type { Node } from '../../kube/corev1.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function node(k: number, ip: string): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: `node-${k}`,
      annotations: {
        [podNetworkAnnotations.backend]: 'auto',
        [podNetworkAnnotations.vtepMac]: `02:00:00:00:${(k >> 8).toString(16).padStart(2, '0')}:${(k & 255).toString(16).padStart(2, '0')}`,
        [podNetworkAnnotations.clusterCIDR]: '10.244.0.0/16',
      },
    },
    spec: { podCIDR: `10.244.${k}.0/24` },
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
  } as Node;
}

/** Sync timings (ms) with `peers` peers: the first sync, and the median of `rounds` no-op syncs. */
export async function measureSyncCost(
  peers: number,
  rounds: number,
): Promise<{ firstMs: number; noopMs: number; peers: number }> {
  const netns = `bpnsync${process.pid.toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'pod-network-sync-'));
  await mustRun(['ip', 'netns', 'add', netns]);
  try {
    const ip = (...args: string[]) => mustRun(['ip', '-n', netns, ...args]);
    await ip('link', 'set', 'lo', 'up');
    await ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
    await ip('addr', 'add', '172.31.0.1/24', 'dev', 'eth0');
    await ip('link', 'set', 'eth0', 'up');
    await ip('link', 'set', 'eth1', 'up');
    await ip('route', 'add', '172.31.0.0/16', 'via', '172.31.0.2');
    const nodes = [
      node(1, '172.31.0.1'),
      ...Array.from({ length: peers }, (_, i) => node(i + 2, `172.31.${1 + ((i + 2) >> 8)}.${(i + 2) & 255}`)),
    ];
    const network = new PodNetwork(
      {
        nodeName: 'node-1',
        nodeIP: '172.31.0.1',
        backend: 'auto',
        cniConfDir: join(dir, 'net.d'),
        cniDataDir: join(dir, 'ipam'),
        cniNetworkName: 'bosun',
        clusterCIDR: undefined,
        serviceCIDR: '10.96.0.0/12',
      },
      {
        host: new IpCommandHost(new ProcessRunner(['nsenter', `--net=/run/netns/${netns}`])),
        nodes: () => nodes,
        publish: async () => {},
        log: pino({ level: 'silent' }),
      },
    );
    let started = performance.now();
    const first = await network.sync();
    const firstMs = performance.now() - started;
    if (first.phase !== 'synced' || first.peerActions !== peers * 3)
      throw new Error(`the first sync did not route every peer: ${JSON.stringify(first).slice(0, 300)}`);
    const noop: number[] = [];
    for (let i = 0; i < rounds; i++) {
      started = performance.now();
      const again = await network.sync();
      noop.push(performance.now() - started);
      if (again.phase !== 'synced' || again.peerActions !== 0)
        throw new Error('a sync with nothing to do changed something');
    }
    return { firstMs, noopMs: median(noop), peers };
  } finally {
    await mustRun(['ip', 'netns', 'del', netns]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
