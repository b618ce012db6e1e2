/**
 * Rules for writes through the status subresource (upstream's ValidatePodStatusUpdate and
 * ValidateServiceStatusUpdate): the addresses in a status end up in other objects and in node
 * rules (a pod's IPs become EndpointSlice addresses, a load balancer's ingress IPs become rules),
 * so they are checked like the spec fields they feed.
 */
import { FieldErrors } from './field-errors.ts';
import { checkEnum, checkInteger, checkString, isSet, objectAt, objectsOf, type Any } from './fields.ts';
import { dns1123Subdomain, ipAddress, isIp, portNumber } from '../../kube/name-formats.ts';
import { protocols } from './service.ts';
import type { ValidatedResource } from './index.ts';
import { validatePodDisruptionBudgetStatus } from './policy.ts';
import { validateHorizontalPodAutoscalerStatus } from './autoscaling.ts';
import { validateIngressStatus } from './ingress.ts';

function validatePodStatus(errors: FieldErrors, status: Any): void {
  checkString(errors, 'status.podIP', status.podIP, ipAddress);
  checkString(errors, 'status.hostIP', status.hostIP, ipAddress);
  for (const list of ['podIPs', 'hostIPs'] as const) {
    const items = objectsOf(errors, `status.${list}`, status[list]);
    for (const [item, at] of items) checkString(errors, `${at}.ip`, item.ip, ipAddress, true);
    const first = items[0]?.[0].ip;
    const single = list === 'podIPs' ? status.podIP : status.hostIP;
    if (typeof first === 'string' && typeof single === 'string' && single !== '' && first !== single) {
      errors.invalid(
        `status.${list}[0].ip`,
        first,
        `must be equal to the value of ${list === 'podIPs' ? 'podIP' : 'hostIP'}`,
      );
    }
  }
  for (const list of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses'] as const) {
    for (const [container, at] of objectsOf(errors, `status.${list}`, status[list]))
      checkString(errors, `${at}.name`, container.name, undefined, true);
  }
}

function validateServiceStatus(errors: FieldErrors, status: Any): void {
  const balancer = objectAt(errors, 'status.loadBalancer', status.loadBalancer);
  for (const [ingress, at] of objectsOf(errors, 'status.loadBalancer.ingress', balancer?.ingress)) {
    checkString(errors, `${at}.ip`, ingress.ip, ipAddress);
    if (checkString(errors, `${at}.hostname`, ingress.hostname, dns1123Subdomain) && isIp(ingress.hostname)) {
      errors.invalid(`${at}.hostname`, ingress.hostname, 'must be a DNS name, not an IP address');
    }
    if (isSet(ingress.ipMode) && !isSet(ingress.ip))
      errors.required(`${at}.ip`, 'must be specified when `ipMode` is set');
    checkEnum(errors, `${at}.ipMode`, ingress.ipMode, ['Proxy', 'VIP']);
    for (const [port, pat] of objectsOf(errors, `${at}.ports`, ingress.ports)) {
      if (checkInteger(errors, `${pat}.port`, port.port, { required: true }))
        errors.invalidEach(`${pat}.port`, port.port, portNumber(port.port));
      checkEnum(errors, `${pat}.protocol`, port.protocol, protocols, true);
    }
  }
}

const statusRules: Readonly<Record<string, (errors: FieldErrors, status: Any) => void>> = {
  pods: validatePodStatus,
  services: validateServiceStatus,
  'policy/poddisruptionbudgets': validatePodDisruptionBudgetStatus,
  'autoscaling/horizontalpodautoscalers': validateHorizontalPodAutoscalerStatus,
  'networking.k8s.io/ingresses': validateIngressStatus,
};

/** Every problem of a status write; kinds without status rules have none. */
export function statusErrors(resource: ValidatedResource, object: Any): FieldErrors {
  const errors = new FieldErrors();
  const rule = statusRules[resource.group === '' ? resource.resource : `${resource.group}/${resource.resource}`];
  const status = objectAt(errors, 'status', object.status);
  if (rule !== undefined && status !== undefined) rule(errors, status);
  return errors;
}
