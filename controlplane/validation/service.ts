/**
 * Service rules (upstream's ValidateService). Port names, protocols and addresses end up in every
 * node's service rules, so each is checked for form and for consistency with the type.
 */
import type { FieldErrors } from './field-errors.ts';
import {
  checkEnum,
  checkInteger,
  checkString,
  isSet,
  objectAt,
  objectsOf,
  stringsOf,
  uniqueTracker,
  type Any,
} from './fields.ts';
import { validateLabels } from './metadata.ts';
import {
  cidr,
  dns1123Label,
  dns1123Subdomain,
  ipAddress,
  isIp,
  portName,
  portNumber,
  qualifiedName,
} from '../../kube/name-formats.ts';

const serviceTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
export const protocols = ['SCTP', 'TCP', 'UDP'];

function checkTargetPort(errors: FieldErrors, path: string, value: unknown): void {
  if (!isSet(value)) return;
  if (typeof value === 'number') {
    if (value !== 0) errors.invalidEach(path, value, portNumber(value));
  } else if (typeof value === 'string') {
    // An empty name, like 0, means "the same as port" (upstream defaults it so).
    if (value !== '') errors.invalidEach(path, value, portName(value));
  } else {
    errors.wrongType(path, value, 'integer or string');
  }
}

function validatePorts(errors: FieldErrors, spec: Any): void {
  const ports = objectsOf(errors, 'spec.ports', spec.ports);
  const names = uniqueTracker(errors);
  const portKeys = uniqueTracker(errors);
  for (const [port, at] of ports) {
    if (ports.length > 1 && (!isSet(port.name) || port.name === '')) errors.required(`${at}.name`);
    else if (checkString(errors, `${at}.name`, port.name, dns1123Label)) names(`${at}.name`, port.name);
    if (checkInteger(errors, `${at}.port`, port.port, { required: true }))
      errors.invalidEach(`${at}.port`, port.port, portNumber(port.port));
    checkEnum(errors, `${at}.protocol`, port.protocol, protocols, true);
    checkTargetPort(errors, `${at}.targetPort`, port.targetPort);
    if (isSet(port.nodePort) && port.nodePort !== 0) {
      if (checkInteger(errors, `${at}.nodePort`, port.nodePort))
        errors.invalidEach(`${at}.nodePort`, port.nodePort, portNumber(port.nodePort));
      if (spec.type === 'ClusterIP') errors.forbidden(`${at}.nodePort`, "may not be used when `type` is 'ClusterIP'");
    }
    checkString(errors, `${at}.appProtocol`, port.appProtocol, qualifiedName);
    if (typeof port.port === 'number' && typeof port.protocol === 'string')
      portKeys(at, { port: port.port, protocol: port.protocol });
  }
  if (ports.length === 0 && spec.type !== 'ExternalName' && spec.clusterIP !== 'None') errors.required('spec.ports');
}

function validateAddresses(errors: FieldErrors, spec: Any): void {
  const headless = spec.clusterIP === 'None';
  if (spec.type === 'ExternalName') {
    if (isSet(spec.clusterIP) && spec.clusterIP !== '')
      errors.forbidden('spec.clusterIP', 'may not be set for ExternalName services');
    if (checkString(errors, 'spec.externalName', spec.externalName, undefined, true))
      errors.invalidEach(
        'spec.externalName',
        spec.externalName,
        dns1123Subdomain(spec.externalName.replace(/\.$/, '')),
      );
  } else if (checkString(errors, 'spec.clusterIP', spec.clusterIP) && !headless && !isIp(spec.clusterIP)) {
    errors.invalid('spec.clusterIP', spec.clusterIP, "must be empty, 'None', or a valid IP address");
  }
  if (headless && (spec.type === 'NodePort' || spec.type === 'LoadBalancer'))
    errors.invalid('spec.clusterIP', spec.clusterIP, `may not be set to 'None' for ${spec.type} services`);
  const clusterIps = stringsOf(errors, 'spec.clusterIPs', spec.clusterIPs);
  if (clusterIps.length > 2)
    errors.invalid('spec.clusterIPs', spec.clusterIPs, 'may specify no more than one IP for each IP family');
  for (const [ip, at] of clusterIps) {
    if (ip !== 'None' && !isIp(ip)) errors.invalid(at, ip, "must be empty, 'None', or a valid IP address");
  }
  if (
    clusterIps.length > 0 &&
    typeof spec.clusterIP === 'string' &&
    spec.clusterIP !== '' &&
    clusterIps[0]![0] !== spec.clusterIP
  ) {
    errors.invalid('spec.clusterIPs', spec.clusterIPs, 'first value must match `clusterIP`');
  }
  for (const [ip, at] of stringsOf(errors, 'spec.externalIPs', spec.externalIPs))
    errors.invalidEach(at, ip, ipAddress(ip));
  for (const [range, at] of stringsOf(errors, 'spec.loadBalancerSourceRanges', spec.loadBalancerSourceRanges))
    errors.invalidEach(at, range, cidr(range.trim()));
  checkString(errors, 'spec.loadBalancerIP', spec.loadBalancerIP, ipAddress);
}

export function validateServiceSpec(errors: FieldErrors, value: unknown): void {
  const spec = objectAt(errors, 'spec', value);
  if (spec === undefined) return errors.required('spec');
  checkEnum(errors, 'spec.type', spec.type, serviceTypes, true);
  validatePorts(errors, spec);
  validateAddresses(errors, spec);
  validateLabels(errors, 'spec.selector', spec.selector);
  checkEnum(errors, 'spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']);
  const affinityConfig = objectAt(errors, 'spec.sessionAffinityConfig', spec.sessionAffinityConfig);
  const clientIp = objectAt(errors, 'spec.sessionAffinityConfig.clientIP', affinityConfig?.clientIP);
  checkInteger(errors, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', clientIp?.timeoutSeconds, {
    min: 1,
    max: 86400,
    rangeMessage: 'must be greater than 0 and less than 86400',
  });
  checkEnum(errors, 'spec.externalTrafficPolicy', spec.externalTrafficPolicy, ['Cluster', 'Local']);
  checkEnum(errors, 'spec.internalTrafficPolicy', spec.internalTrafficPolicy, ['Cluster', 'Local']);
  checkEnum(errors, 'spec.ipFamilyPolicy', spec.ipFamilyPolicy, ['PreferDualStack', 'RequireDualStack', 'SingleStack']);
  for (const [family, at] of stringsOf(errors, 'spec.ipFamilies', spec.ipFamilies))
    checkEnum(errors, at, family, ['IPv4', 'IPv6']);
  checkInteger(errors, 'spec.healthCheckNodePort', spec.healthCheckNodePort, { min: 0, max: 65535 });
}
