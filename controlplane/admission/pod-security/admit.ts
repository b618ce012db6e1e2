/**
 * Pod Security admission in the admission chain: reads what the decision needs (the namespace's
 * labels, its pods when its enforce level tightens), decides (decide.ts), then acts: warnings go
 * to the client, annotations to the request's audit event, a refusal is thrown.
 */
import type { KubeObject } from '../../../kube/types.ts';
import type { AdmissionRequest } from '../../api/registry.ts';
import { addAuditAnnotation, addWarning, currentUser } from '../../api/request-context.ts';
import type { PodSecurityConfig } from './config.ts';
import {
  auditAnnotationPrefix,
  decideNamespace,
  decidePodLike,
  existingPodWarnings,
  isSignificantPodUpdate,
  type PodSecurityOutcome,
} from './decide.ts';
import type { PodMetaView, PodSpecView } from './pod-view.ts';

type Any = Record<string, any>;

interface PodSecurityLookups {
  namespace(name: string): Promise<KubeObject | undefined>;
  pods(namespace: string): Promise<readonly KubeObject[]>;
}

/** Where each workload keeps the pod template it creates pods from. */
const templatePaths: Record<string, readonly string[]> = {
  '/podtemplates': ['template'],
  '/replicationcontrollers': ['spec', 'template'],
  'apps/deployments': ['spec', 'template'],
  'apps/replicasets': ['spec', 'template'],
  'apps/statefulsets': ['spec', 'template'],
  'apps/daemonsets': ['spec', 'template'],
  'batch/jobs': ['spec', 'template'],
  'batch/cronjobs': ['spec', 'jobTemplate', 'spec', 'template'],
};

function templateOf(resourceKey: string, object: Any): { meta: PodMetaView; spec: PodSpecView } | undefined {
  const path = templatePaths[resourceKey];
  if (path === undefined) return undefined;
  const template = path.reduce<Any | undefined>(
    (at, key) => (at !== undefined && typeof at === 'object' && at !== null ? at[key] : undefined),
    object,
  );
  if (template === undefined || template === null) return undefined;
  return { meta: template.metadata ?? {}, spec: template.spec ?? {} };
}

function act(outcome: PodSecurityOutcome): void {
  for (const [key, value] of Object.entries(outcome.annotations))
    addAuditAnnotation(`${auditAnnotationPrefix}${key}`, value);
  for (const warning of outcome.warnings) addWarning(warning);
  if (outcome.refusal !== undefined) throw outcome.refusal;
}

/** Runs Pod Security admission for a create or update of a pod, a workload or a namespace (not for subresources). */
export async function admitPodSecurity(
  request: AdmissionRequest,
  config: PodSecurityConfig,
  lookups: PodSecurityLookups,
): Promise<void> {
  const { info, operation } = request;
  if (operation !== 'CREATE' && operation !== 'UPDATE') return;
  const object = request.object as Any;
  const old = request.old as Any | undefined;
  const name: string = object.metadata?.name ?? '';
  if (info.group === '' && info.resource === 'namespaces') {
    const decision = decideNamespace(config, name, object.metadata?.labels, old?.metadata?.labels, old === undefined);
    if (decision.refusal !== undefined) throw decision.refusal;
    if (decision.checkPodsAgainst === undefined) return;
    const pods = (await lookups.pods(name)).map((p) => ({
      meta: p.metadata as PodMetaView,
      spec: (p.spec ?? {}) as PodSpecView,
    }));
    for (const warning of existingPodWarnings(config, name, decision.checkPodsAgainst, pods)) addWarning(warning);
    return;
  }
  const isPod = info.group === '' && info.resource === 'pods';
  const podLike = isPod
    ? { meta: object.metadata ?? {}, spec: object.spec ?? {} }
    : templateOf(`${info.group === '' ? '' : info.group}/${info.resource}`, object);
  if (podLike === undefined) return;
  if (
    isPod &&
    old !== undefined &&
    !isSignificantPodUpdate(podLike.meta, podLike.spec, old.metadata ?? {}, old.spec ?? {})
  )
    return;
  const namespace: string = object.metadata?.namespace ?? '';
  const namespaceObject = await lookups.namespace(namespace);
  act(
    decidePodLike(config, {
      resource: info.resource,
      name,
      namespace,
      namespaceLabels: namespaceObject?.metadata.labels,
      username: currentUser()?.name,
      meta: podLike.meta,
      spec: podLike.spec,
      enforce: isPod,
    }),
  );
}
