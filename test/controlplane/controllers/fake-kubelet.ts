/**
 * Plays the node agents for control-loop tests: every pod bound to a node gets an IP and becomes
 * Running and Ready (or, for pods named in `outcomes`, Succeeded/Failed), and pods marked for
 * deletion are removed at once, as an agent confirms termination.
 */
import type { Pod } from '../../../kube/corev1.ts';
import type { ClusterClient } from '../../../controlplane/controllers/client.ts';

export interface FakeKubelet {
  /** Pods whose name starts with a key end in that phase instead of running. */
  readonly outcomes: Map<string, 'Succeeded' | 'Failed'>;
  stop(): void;
}

export async function startFakeKubelet(cluster: ClusterClient): Promise<FakeKubelet> {
  const outcomes = new Map<string, 'Succeeded' | 'Failed'>();
  let ip = 10;
  let stopped = false;
  const handle = async (pod: Pod) => {
    if (stopped || !pod.spec.nodeName) return;
    const name = pod.metadata.name ?? '';
    if (pod.metadata.deletionTimestamp) {
      await cluster.delete('pods', pod.metadata.namespace, name, { gracePeriodSeconds: 0 }).catch(() => {});
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Running' || phase === 'Succeeded' || phase === 'Failed') return;
    const outcome = [...outcomes].find(([prefix]) => name.startsWith(prefix))?.[1];
    const now = new Date().toISOString();
    const status = outcome
      ? {
          phase: outcome,
          podIP: `10.244.0.${ip++}`,
          conditions: [{ type: 'Ready', status: 'False' as const, lastTransitionTime: now }],
        }
      : {
          phase: 'Running' as const,
          podIP: `10.244.0.${ip++}`,
          conditions: [{ type: 'Ready', status: 'True' as const, lastTransitionTime: now }],
        };
    try {
      await cluster.updateStatus('pods', { ...pod, status });
    } catch {
      // The pod changed meanwhile; the next event brings it back.
    }
  };
  const listed = await cluster.list('pods');
  for (const pod of listed.items) void handle(pod as Pod);
  const subscription = await cluster.watch(
    'pods',
    listed.resourceVersion,
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
