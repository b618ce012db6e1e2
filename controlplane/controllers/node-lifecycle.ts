/**
 * The node lifecycle controller as a ControllerSpec. Per node, every monitor period (5 s):
 *  1. note signs of life (Lease renewals, status heartbeats); past the grace period set the node's
 *     conditions to Unknown and mark its pods not ready, so Services stop sending them traffic;
 *  2. keep the condition taints in line (NoSchedule for the scheduler, NoExecute for eviction) and
 *     give the node a pod CIDR when --cluster-cidr is set;
 *  3. evict pods whose toleration of the NoExecute taints has run out.
 * A write of the node's status and one of its spec never go in the same pass (the second would
 * conflict with the first): the status change brings the node back through the queue at once.
 */
import type { Lease, Node, Pod } from '../../kube/corev1.ts';
import type { Action, Plan } from './actions.ts';
import type { ControllerSpec } from './manager.ts';
import { assessNode, defaultMonitorPeriodMs, type HealthOptions, type NodeHealth } from './node-health.ts';
import { reconcileTaints } from './node-taints.ts';
import { annotateClusterCidr, assignPodCidr, usedPodCidrs } from './pod-cidr.ts';
import { apiTime } from '../../kube/api-time.ts';
import { isActive, readyCondition } from './pods.ts';
import { planTaintEvictions } from './taint-eviction.ts';

const nodeLeaseNamespace = 'kube-node-lease';

export interface NodeLifecycleOptions extends HealthOptions {
  readonly monitorPeriodMs?: number;
  /** --cluster-cidr: when set, nodes without spec.podCIDR get a block from it. */
  readonly clusterCidr?: string;
  readonly nodeCidrMaskSize?: number;
}

function markPodsNotReady(pods: readonly Pod[], now: Date): Action[] {
  const actions: Action[] = [];
  for (const pod of pods) {
    const ready = readyCondition(pod);
    if (ready?.status !== 'True') continue;
    const conditions = (pod.status?.conditions ?? []).map((c) =>
      c.type === 'Ready' ? { ...c, status: 'False' as const, lastTransitionTime: apiTime(now) } : c,
    );
    actions.push({ kind: 'updateStatus', resource: 'pods', object: { ...pod, status: { ...pod.status, conditions } } });
  }
  return actions;
}

export function nodeLifecycleController(options: NodeLifecycleOptions = {}): ControllerSpec {
  const health = new Map<string, NodeHealth>();
  // Blocks handed out but maybe not yet visible in the cache, so two nodes never get the same one.
  const reserved = new Map<string, string>();
  return {
    name: 'nodelifecycle',
    primary: 'nodes',
    triggers: [
      {
        resource: 'leases',
        keysFor: (lease) =>
          lease.metadata.namespace === nodeLeaseNamespace && lease.metadata.name ? [lease.metadata.name] : [],
      },
      // A pod matters to its node only for eviction, which only NoExecute taints start.
      {
        resource: 'pods',
        keysFor: (pod, caches) => {
          const nodeName = (pod as Pod).spec?.nodeName;
          const node = nodeName ? (caches.get('nodes', nodeName) as Node | undefined) : undefined;
          return nodeName && node?.spec?.taints?.some((t) => t.effect === 'NoExecute') ? [nodeName] : [];
        },
      },
    ],
    plan: (object, caches, now): Plan => {
      const node = object as Node;
      const name = node.metadata.name ?? '';
      const lease = caches.get('leases', `${nodeLeaseNamespace}/${name}`) as Lease | undefined;
      // Only done when a node is going or tainted; from the pods-by-node index where there is one:
      // with every node silent at once, a scan of every pod per node was 5% of a 1,000-node server
      const podsHere = () =>
        ((caches.podsOn?.(name) ?? caches.list('pods')) as Pod[]).filter(
          (p) => p.spec.nodeName === name && isActive(p),
        );
      const assessment = assessNode(node, lease, health.get(name), now, options);
      health.set(name, assessment.health);
      const period = options.monitorPeriodMs ?? defaultMonitorPeriodMs;
      if (assessment.statusUpdate) {
        const wasReady = node.status?.conditions?.find((c) => c.type === 'Ready');
        return {
          actions: [
            { kind: 'updateStatus', resource: 'nodes', object: assessment.statusUpdate },
            ...(wasReady?.status === 'Unknown' ? [] : markPodsNotReady(podsHere(), now)),
            {
              kind: 'event',
              object: { ...node, apiVersion: 'v1', kind: 'Node' },
              type: 'Normal',
              reason: 'NodeNotReady',
              message: `Node ${name} status is now: NodeNotReady`,
            },
          ],
          requeueAfterMs: period,
        };
      }
      const actions: Action[] = [];
      const nodes = caches.list('nodes') as Node[];
      const anyReady = nodes.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      let next = reconcileTaints(node, now, anyReady);
      // the used blocks are gathered only for a node without one: lease renewals plan every node
      // every 10 s, and a set of every node's block each time made that O(nodes) per renewal
      if (options.clusterCidr && !(next ?? node).spec?.podCIDR) {
        const used = usedPodCidrs(nodes);
        for (const [holder, cidr] of reserved) {
          if (holder !== name) used.add(cidr);
        }
        const withCidr = assignPodCidr(next ?? node, options.clusterCidr, options.nodeCidrMaskSize ?? 24, used);
        if (withCidr) {
          reserved.set(name, withCidr.spec!.podCIDR!);
          next = withCidr;
        }
      } else if (options.clusterCidr && reserved.has(name)) {
        reserved.delete(name);
      }
      if (options.clusterCidr) next = annotateClusterCidr(next ?? node, options.clusterCidr) ?? next;
      if (next) actions.push({ kind: 'update', resource: 'nodes', object: next });
      const tainted = (next ?? node).spec?.taints?.some((t) => t.effect === 'NoExecute') === true;
      const evictions = tainted ? planTaintEvictions(next ?? node, podsHere(), now) : { actions: [] };
      actions.push(...evictions.actions);
      const remaining = assessment.remainingMs ?? period;
      return {
        actions,
        requeueAfterMs: Math.max(1, Math.min(period, remaining, evictions.requeueAfterMs ?? Infinity)),
      };
    },
  };
}
