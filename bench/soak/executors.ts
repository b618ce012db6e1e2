/**
 * One executor per fault kind: each injects its fault and resolves when the injection is over
 * (the killed process started again, the link healed, the burst written), which is where the
 * recovery clock starts. Every fault stays inside the sandbox: processes by their recorded PID,
 * links and iptables inside the sandbox's own namespaces.
 */
import type { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { ConfigMap } from '../../kube/corev1.ts';
import type { Fault, FaultKind } from './faults.ts';
import type { SoakTarget } from './target.ts';
import { soakNamespace } from './workload.ts';

interface ExecutorSettings {
  /** How long a partition lasts: longer than the server's node-monitor grace period. */
  partitionMs: number;
  burstWrites: number;
  burstConcurrency: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work(i)` for i in [0, count) with at most `width` at once; returns how many failed. */
async function inParallel(count: number, width: number, work: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++)
      await work(i).catch(() => {
        failed++;
      });
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
  return failed;
}

/**
 * An `iptables-restore --noflush` payload that empties every BOSUN- chain of `iptables-save`
 * output, one commit per table: the whole flush lands at once, as a firewall reload's would. (Chain
 * by chain, the agent may repair the first ones before the last are emptied; the ones emptied
 * after its repair, canary intact, would wait for the periodic resync.)
 */
export function flushPayload(iptablesSave: string): { payload: string; chains: number } {
  const byTable = new Map<string, string[]>();
  let table = '';
  for (const line of iptablesSave.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const chain = /^:(BOSUN-\S+) /.exec(line)?.[1];
    if (chain !== undefined) byTable.set(table, [...(byTable.get(table) ?? []), chain]);
  }
  const payload = [...byTable]
    .map(([t, chains]) => [`*${t}`, ...chains.map((c) => `-F ${c}`), 'COMMIT'].join('\n'))
    .join('\n');
  return { payload: `${payload}\n`, chains: [...byTable.values()].reduce((n, c) => n + c.length, 0) };
}

export function executors(
  target: SoakTarget,
  client: KubeClient,
  settings: ExecutorSettings,
): Record<FaultKind, (fault: Fault) => Promise<string>> {
  const { sandbox } = target;
  return {
    'agent-kill': async ({ node }) => {
      await target.killAgent(node!);
      await target.startAgent(node!);
      return 'agent killed and started';
    },
    'containerd-kill': async ({ node }) => {
      await sandbox.killContainerd(node!);
      await sandbox.startContainerd(node!);
      return 'containerd killed and started';
    },
    partition: async ({ node }) => {
      await sandbox.partition(node!);
      try {
        await sleep(settings.partitionMs);
      } finally {
        await sandbox.heal(node!);
      }
      return `cut off for ${settings.partitionMs / 1000} s`;
    },
    'server-kill': async () => {
      await sandbox.killServer();
      await sandbox.startServer();
      return 'server killed and started';
    },
    'write-burst': async ({ index }) => {
      const label = { 'soak.bosun.dev/burst': String(index) };
      const name = (i: number) => `burst-${index}-${i}`;
      const failed = await inParallel(settings.burstWrites, settings.burstConcurrency, (i) =>
        client.create<ConfigMap>(refs.configmaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: name(i), namespace: soakNamespace, labels: label },
          data: { i: String(i) },
        }),
      );
      // removed again so that the objects do not pile up in the server's memory over a long run
      await inParallel(settings.burstWrites, settings.burstConcurrency, (i) =>
        client.delete(refs.configmaps, name(i), { namespace: soakNamespace }),
      );
      return `${settings.burstWrites - failed} of ${settings.burstWrites} writes acknowledged`;
    },
    'iptables-flush': async ({ node }) => {
      const where = sandbox.node(node!);
      const saved = await where.run(['iptables-save'], { timeoutMs: 10_000 });
      const { payload, chains } = flushPayload(saved.stdout);
      const flushed = await where.run(['iptables-restore', '-w', '--noflush'], { input: payload, timeoutMs: 10_000 });
      if (flushed.code !== 0) throw new Error(`flushing bosun's chains on ${node}: ${flushed.stderr.trim()}`);
      return `${chains} chains flushed`;
    },
  };
}
