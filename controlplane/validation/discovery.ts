/**
 * EndpointSlice rules (upstream's discovery validation). Every address, port and hostname here
 * goes into the service rules and DNS answers of every node, so every field is typed and checked.
 */
import { isIPv4 } from 'node:net';
import type { FieldErrors } from './field-errors.ts';
import {
  checkBoolean,
  checkEnum,
  checkInteger,
  checkString,
  isSet,
  objectAt,
  objectsOf,
  uniqueTracker,
  type Any,
} from './fields.ts';
import { validateLabels } from './metadata.ts';
import {
  dns1123Label,
  dns1123Subdomain,
  fullyQualifiedDomainName,
  isIp,
  labelValue,
  portNumber,
  qualifiedName,
} from '../../kube/name-formats.ts';
import { protocols } from './service.ts';

const addressTypes = ['FQDN', 'IPv4', 'IPv6'];
const maxAddresses = 100;
const maxEndpoints = 1000;
const maxPorts = 20000;

const addressChecks: Readonly<Record<string, (value: string) => string[]>> = {
  IPv4: (v) => (isIPv4(v) ? [] : ['must be a valid IPv4 address']),
  IPv6: (v) => (isIp(v) && !isIPv4(v) ? [] : ['must be a valid IPv6 address']),
  FQDN: fullyQualifiedDomainName,
};

function validateEndpoint(errors: FieldErrors, at: string, endpoint: Any, addressType: string | undefined): void {
  const addresses = endpoint.addresses;
  if (!Array.isArray(addresses) || addresses.length === 0) {
    if (isSet(addresses) && !Array.isArray(addresses)) errors.wrongType(`${at}.addresses`, addresses, 'array');
    else errors.required(`${at}.addresses`, 'must contain at least 1 address');
  } else if (addresses.length > maxAddresses) {
    errors.tooMany(`${at}.addresses`, addresses.length, maxAddresses);
  } else {
    const check = addressType === undefined ? undefined : addressChecks[addressType];
    addresses.forEach((address: unknown, i: number) =>
      checkString(errors, `${at}.addresses[${i}]`, address, check, true),
    );
  }
  const conditions = objectAt(errors, `${at}.conditions`, endpoint.conditions);
  for (const condition of ['ready', 'serving', 'terminating'] as const)
    checkBoolean(errors, `${at}.conditions.${condition}`, conditions?.[condition]);
  checkString(errors, `${at}.hostname`, endpoint.hostname, dns1123Label);
  checkString(errors, `${at}.nodeName`, endpoint.nodeName, dns1123Subdomain);
  checkString(errors, `${at}.zone`, endpoint.zone, labelValue);
  validateLabels(errors, `${at}.deprecatedTopology`, endpoint.deprecatedTopology);
  const target = objectAt(errors, `${at}.targetRef`, endpoint.targetRef);
  for (const field of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'] as const)
    checkString(errors, `${at}.targetRef.${field}`, target?.[field]);
  const hints = objectAt(errors, `${at}.hints`, endpoint.hints);
  for (const [zone, zat] of objectsOf(errors, `${at}.hints.forZones`, hints?.forZones))
    checkString(errors, `${zat}.name`, zone.name, undefined, true);
}

export function validateEndpointSlice(errors: FieldErrors, o: Any, old?: Any): void {
  // 'IP' was an address type once: existing slices keep it, new ones may not use it.
  const allowed = old?.addressType === 'IP' ? [...addressTypes, 'IP'] : addressTypes;
  checkEnum(errors, 'addressType', o.addressType, allowed, true);
  if (old !== undefined && isSet(old.addressType) && o.addressType !== old.addressType)
    errors.invalid('addressType', o.addressType, 'field is immutable');
  const addressType = typeof o.addressType === 'string' ? o.addressType : undefined;
  const endpoints = objectsOf(errors, 'endpoints', o.endpoints);
  if (endpoints.length > maxEndpoints) errors.tooMany('endpoints', endpoints.length, maxEndpoints);
  else for (const [endpoint, at] of endpoints) validateEndpoint(errors, at, endpoint, addressType);
  const ports = objectsOf(errors, 'ports', o.ports);
  if (ports.length > maxPorts) return errors.tooMany('ports', ports.length, maxPorts);
  const names = uniqueTracker(errors);
  for (const [port, at] of ports) {
    if (checkString(errors, `${at}.name`, port.name, dns1123Label)) names(`${at}.name`, port.name);
    else if (!isSet(port.name) || port.name === '') names(`${at}.name`, '');
    if (checkInteger(errors, `${at}.port`, port.port))
      errors.invalidEach(`${at}.port`, port.port, portNumber(port.port));
    checkEnum(errors, `${at}.protocol`, port.protocol, protocols);
    checkString(errors, `${at}.appProtocol`, port.appProtocol, qualifiedName);
  }
}
