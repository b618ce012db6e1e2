/**
 * Plays the node agents for control-loop tests against MemoryCluster: every pod bound to a node
 * gets an IP and becomes Running and Ready (or, for pods named in `outcomes`, Succeeded/Failed),
 * and pods marked for deletion are removed, as an agent confirms termination.
 */
import type { Pod } from '../../../kube/corev1.ts';
import type { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';

export interface FakeKubelet {
  /** Pods whose name starts with a key end in that phase instead of running. */
  readonly outcomes: Map<string, 'Succeeded' | 'Failed'>;
  stop(): void;
}

export async function startFakeKubelet(cluster: MemoryCluster): Promise<FakeKubelet> {
  const outcomes = new Map<string, 'Succeeded' | 'Failed'>();
  let ip = 10;
  let stopped = false;
  const handle = async (pod: Pod) => {
    if (stopped || !pod.spec.nodeName) return;
    const name = pod.metadata.name ?? '';
    if (pod.metadata.deletionTimestamp) return;
    const phase = pod.status?.phase;
    if (phase === 'Running' || phase === 'Succeeded' || phase === 'Failed') return;
    const outcome = [...outcomes].find(([prefix]) => name.startsWith(prefix))?.[1];
    const now = new Date().toISOString();
    const status = outcome
      ? { phase: outcome, podIP: `10.244.0.${ip++}`, conditions: [{ type: 'Ready', status: 'False' as const, lastTransitionTime: now }] }
      : { phase: 'Running' as const, podIP: `10.244.0.${ip++}`, conditions: [{ type: 'Ready', status: 'True' as const, lastTransitionTime: now }] };
    try {
      await cluster.updateStatus('pods', { ...pod, status });
    } catch {
      // The pod changed meanwhile; the next event brings it back.
    }
  };
  const subscription = await cluster.watch(
    'pods',
    '0',
    (event) => {
      if (event.type !== 'DELETED') void handle(event.object as Pod);
    },
    () => {},
  );
  return {
    outcomes,
    stop: () => {
      stopped = true;
      subscription.stop();
    },
  };
}
