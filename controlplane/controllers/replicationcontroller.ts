/**
 * ReplicationController: the ReplicaSet's predecessor in the core group. Its only difference that
 * matters to the controller is the selector, a plain map of labels that must all be equal. The
 * planner views the RC as a ReplicaSet whose selector has those labels as matchLabels, lets the
 * ReplicaSet planner decide, and writes the status back to the RC (upstream runs one controller
 * for both kinds the same way, converting RCs to ReplicaSets).
 */
import type { Pod } from '../../kube/corev1.ts';
import type { LabelSelectorObject } from '../../kube/labels.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Action, Plan } from './actions.ts';
import { planReplicaSet } from './replicaset.ts';
import type { PodTemplateSpec, ReplicaSet } from './workload-types.ts';

export interface ReplicationController extends KubeObject {
  spec: { replicas?: number; minReadySeconds?: number; selector?: Record<string, string>; template?: PodTemplateSpec };
  status?: NonNullable<ReplicaSet['status']>;
}

/** The equality selector as a label selector object (what the ReplicaSet machinery reads). */
export function equalitySelector(selector: Record<string, string> | undefined): LabelSelectorObject {
  return { matchLabels: { ...selector } };
}

/** The RC seen as a ReplicaSet: same metadata (so owner references name the RC), label selector. */
function asReplicaSet(rc: ReplicationController): ReplicaSet {
  return {
    ...rc,
    spec: {
      ...rc.spec,
      selector: equalitySelector(rc.spec.selector),
      template: rc.spec.template ?? { spec: { containers: [] } },
    },
  };
}

/** Status writes go to the RC itself, with the RC's own spec; every other action is the same. */
function onReplicationController(rc: ReplicationController, action: Action): Action {
  if (action.kind !== 'updateStatus') return action;
  return { kind: 'updateStatus', resource: 'replicationcontrollers', object: { ...rc, status: action.object.status } };
}

export function planReplicationController(rc: ReplicationController, pods: readonly Pod[], now: Date): Plan {
  // The API refuses an RC without a template; one stored before that rule must not spawn empty pods.
  if (rc.spec.template === undefined) return { actions: [] };
  const plan = planReplicaSet(asReplicaSet(rc), pods, now);
  return { ...plan, actions: plan.actions.map((action) => onReplicationController(rc, action)) };
}
