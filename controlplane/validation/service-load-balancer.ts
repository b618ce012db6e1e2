/**
 * The rules of a Service's load-balancer fields (upstream's validateService and
 * validateLoadBalancerClassField): they only mean something for `type: LoadBalancer`, a class is a
 * qualified name that never changes while the Service stays a LoadBalancer, and the health check
 * node port belongs to LoadBalancer Services with `externalTrafficPolicy: Local` and stays put.
 */
import type { FieldErrors } from './field-errors.ts';
import { isSet, type Any } from './fields.ts';
import { qualifiedName } from '../../kube/name-formats.ts';

const onlyForLoadBalancers = "may only be used when `type` is 'LoadBalancer'";

/** Upstream's NeedsHealthCheck: only these Services have (and keep) a healthCheckNodePort. */
export const needsHealthCheckPort = (spec: Any) =>
  spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';

export function validateLoadBalancerFields(errors: FieldErrors, spec: Any): void {
  if (typeof spec !== 'object' || spec === null) return;
  const balancer = spec.type === 'LoadBalancer';
  if (isSet(spec.allocateLoadBalancerNodePorts) && !balancer)
    errors.forbidden('spec.allocateLoadBalancerNodePorts', onlyForLoadBalancers);
  if (isSet(spec.loadBalancerClass)) {
    if (!balancer) errors.forbidden('spec.loadBalancerClass', onlyForLoadBalancers);
    else if (typeof spec.loadBalancerClass === 'string')
      errors.invalidEach('spec.loadBalancerClass', spec.loadBalancerClass, qualifiedName(spec.loadBalancerClass));
  }
  // upstream names this field with a capital L in this one message
  if (Array.isArray(spec.loadBalancerSourceRanges) && spec.loadBalancerSourceRanges.length > 0 && !balancer)
    errors.forbidden('spec.LoadBalancerSourceRanges', onlyForLoadBalancers);
  const healthCheckNodePort = spec.healthCheckNodePort;
  if (typeof healthCheckNodePort === 'number' && healthCheckNodePort !== 0 && !needsHealthCheckPort(spec))
    errors.invalid(
      'spec.healthCheckNodePort',
      healthCheckNodePort,
      "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
    );
}

export function validateLoadBalancerFieldsUpdate(errors: FieldErrors, spec: Any, old: Any): void {
  if (typeof spec !== 'object' || spec === null || typeof old !== 'object' || old === null) return;
  if (old.type === 'LoadBalancer' && spec.type === 'LoadBalancer' && old.loadBalancerClass !== spec.loadBalancerClass)
    errors.invalid('spec.loadBalancerClass', spec.loadBalancerClass ?? null, 'may not change once set');
  if (needsHealthCheckPort(old) && needsHealthCheckPort(spec) && old.healthCheckNodePort !== spec.healthCheckNodePort)
    errors.forbidden('spec.healthCheckNodePort', 'field is immutable');
}
