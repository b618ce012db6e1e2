/**
 * Fields a Service's old type set that its new type does not take (upstream's
 * dropTypeDependentFields): when an update switches a LoadBalancer to another type, the
 * load-balancer fields it still carries unchanged from the stored object are dropped instead of
 * being refused, so `kubectl patch -p '{"spec":{"type":"ClusterIP"}}'` works as upstream. A field
 * the same request changed stays, and validation says what is wrong with it.
 */
import type { Any } from '../validation/fields.ts';
import { needsHealthCheckPort } from '../validation/service-load-balancer.ts';

export function dropTypeDependentFields(spec: Any, old: Any | undefined): void {
  if (old === undefined) return;
  if (old.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (
      spec.allocateLoadBalancerNodePorts !== undefined &&
      spec.allocateLoadBalancerNodePorts === old.allocateLoadBalancerNodePorts
    )
      delete spec.allocateLoadBalancerNodePorts;
    if (spec.loadBalancerClass === old.loadBalancerClass) delete spec.loadBalancerClass;
  }
  if (needsHealthCheckPort(old) && !needsHealthCheckPort(spec) && spec.healthCheckNodePort === old.healthCheckNodePort)
    delete spec.healthCheckNodePort;
}
