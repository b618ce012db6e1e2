/** Restricted checks on the user a pod's processes run as: never root. */
import {
  containersWhere,
  inUserNamespace,
  setters,
  type PodMetaView,
  type PodSpecView,
  type Violation,
} from './pod-view.ts';

/**
 * runAsNonRoot must be true for every container, set on the pod or on each container; an explicit
 * false anywhere is named first. From v1.34 a pod in its own user namespace is exempt.
 */
export function runAsNonRoot(relaxInUserNamespace: boolean) {
  return (_meta: PodMetaView, spec: PodSpecView): Violation | undefined => {
    if (relaxInUserNamespace && inUserNamespace(spec)) return undefined;
    const podValue = spec.securityContext?.runAsNonRoot;
    const explicitlyFalse = containersWhere(spec, (c) => c.securityContext?.runAsNonRoot === false);
    if (podValue === false || explicitlyFalse.length > 0) {
      return {
        reason: 'runAsNonRoot != true',
        detail: `${setters(podValue === false, explicitlyFalse)} must not set securityContext.runAsNonRoot=false`,
      };
    }
    if (podValue === true) return undefined;
    const unset = containersWhere(spec, (c) => c.securityContext?.runAsNonRoot === undefined);
    if (unset.length === 0) return undefined;
    return {
      reason: 'runAsNonRoot != true',
      detail: `pod or ${setters(false, unset)} must set securityContext.runAsNonRoot=true`,
    };
  };
}

export function runAsUser(_meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const pod = spec.securityContext?.runAsUser === 0;
  const containers = containersWhere(spec, (c) => c.securityContext?.runAsUser === 0);
  if (!pod && containers.length === 0) return undefined;
  return { reason: 'runAsUser=0', detail: `${setters(pod, containers)} must not set runAsUser=0` };
}
