/**
 * v1 ReplicationController defaults, as upstream's core/v1 defaults: the selector (a map of labels)
 * and the RC's own labels come from the template's labels when absent, one replica by default.
 * Its validation lives with the others, in ../validation/replication-controller.ts.
 */
import { defaultWorkload } from './defaults.ts';

type Any = Record<string, any>;

export function defaultReplicationController(rc: Any): void {
  defaultWorkload('ReplicationController', rc);
  const spec = rc.spec as Any;
  const templateLabels = spec.template?.metadata?.labels as Record<string, string> | undefined;
  if (templateLabels !== undefined) {
    if (Object.keys(spec.selector ?? {}).length === 0) spec.selector = { ...templateLabels };
    if (Object.keys(rc.metadata?.labels ?? {}).length === 0) rc.metadata.labels = { ...templateLabels };
  }
  spec.replicas ??= 1;
}
