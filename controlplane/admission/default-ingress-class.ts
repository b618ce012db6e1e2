/**
 * The DefaultIngressClass admission plugin: an Ingress created without `spec.ingressClassName`
 * (and without the older `kubernetes.io/ingress.class` annotation) gets the class annotated
 * `ingressclass.kubernetes.io/is-default-class: "true"`. Upstream allows one such class: with
 * several the create is refused (403) rather than guessed, with none the Ingress keeps no class.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import { ingressClassAnnotation } from '../../kube/networkingv1.ts';

type Any = Record<string, any>;

export const defaultIngressClassAnnotation = 'ingressclass.kubernetes.io/is-default-class';

/** Fills the Ingress's class in place when it names none; throws 403 when the default is ambiguous. */
export function setDefaultIngressClass(ingress: Any, classes: readonly KubeObject[]): void {
  if (ingress.spec?.ingressClassName !== undefined && ingress.spec?.ingressClassName !== null) return;
  const annotations = ingress.metadata?.annotations;
  if (annotations !== null && typeof annotations === 'object' && ingressClassAnnotation in annotations) return;
  const defaults = classes.filter((c) => c.metadata.annotations?.[defaultIngressClassAnnotation] === 'true');
  if (defaults.length === 0) return;
  if (defaults.length > 1) {
    const name = typeof ingress.metadata?.name === 'string' ? ingress.metadata.name : '';
    throw new ApiError(
      'Forbidden',
      `ingresses.networking.k8s.io "${name}" is forbidden: Internal error occurred: ${defaults.length} default IngressClasses were found, only 1 allowed`,
      { name, group: 'networking.k8s.io', kind: 'ingresses' },
    );
  }
  ingress.spec ??= {};
  ingress.spec.ingressClassName = defaults[0]!.metadata.name;
}

/** Upstream's IngressClass default: parameters without a scope refer to a cluster-scoped object. */
export function defaultIngressClass(ingressClass: Any): void {
  const parameters = ingressClass.spec?.parameters;
  if (parameters !== null && typeof parameters === 'object' && !Array.isArray(parameters))
    parameters.scope ??= 'Cluster';
}
