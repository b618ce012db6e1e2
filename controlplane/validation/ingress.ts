/**
 * networking.k8s.io Ingress and IngressClass rules (upstream's pkg/apis/networking/validation).
 * Hosts, paths and Service references of an Ingress become routing decisions of every node's
 * ingress proxy, so each is checked as upstream checks it; the proxy reads them again before use.
 */
import { FieldErrors } from './field-errors.ts';
import { checkString, isObject, isSet, objectAt, objectsOf, stringsOf, type Any } from './fields.ts';
import {
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  isIp,
  ipAddress,
  pathSegment,
  portName,
  portNumber,
  wildcardDns1123Subdomain,
} from '../../kube/name-formats.ts';
import { ingressClassAnnotation } from '../../kube/networkingv1.ts';

const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'];
const controllerMaxLength = 250;
const parameterScopes = ['Cluster', 'Namespace'];
/** What a path may not hold when its type is Exact or Prefix (it would mean another path to a proxy). */
const badPathSequences = ['//', '/./', '/../', '%2f', '%2F'];
const badPathSuffixes = ['/..', '/.'];

/** Upstream's IsDomainPrefixedPath: `<subdomain>/<http path>`, as `acme.io/ingress-controller`. */
function checkDomainPrefixedPath(errors: FieldErrors, at: string, value: string): void {
  const slash = value.indexOf('/');
  const host = slash < 0 ? '' : value.slice(0, slash);
  const path = slash < 0 ? '' : value.slice(slash + 1);
  if (host === '' || path === '') {
    errors.invalid(at, value, 'must be a domain-prefixed path (such as "acme.io/foo")');
    return;
  }
  errors.invalidEach(at, host, dns1123Subdomain(host));
  const httpPath = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
  if (!new RegExp(`^${httpPath}$`).test(path))
    errors.invalid(at, path, `Invalid path (regex used for validation is '${httpPath}')`);
}

/** A host of a rule or of a TLS entry: a DNS subdomain, or `*.` and one. */
function hostProblems(host: string): string[] {
  return host.includes('*') ? wildcardDns1123Subdomain(host) : dns1123Subdomain(host);
}

function validateBackend(errors: FieldErrors, at: string, backend: Any, relaxedServiceNames: boolean): void {
  const resource = objectAt(errors, `${at}.resource`, backend.resource);
  const service = objectAt(errors, `${at}.service`, backend.service);
  if (resource !== undefined && service !== undefined) {
    errors.invalid(at, '', 'cannot set both resource and service backends');
    return;
  }
  if (resource !== undefined) {
    if (checkString(errors, `${at}.resource.apiGroup`, resource.apiGroup)) {
      errors.invalidEach(`${at}.resource.apiGroup`, resource.apiGroup, dns1123Subdomain(resource.apiGroup));
    }
    checkString(errors, `${at}.resource.kind`, resource.kind, pathSegment, true);
    checkString(errors, `${at}.resource.name`, resource.name, pathSegment, true);
    return;
  }
  if (service === undefined) {
    errors.invalid(at, '', 'resource or service backend is required');
    return;
  }
  const nameRule = relaxedServiceNames ? dns1123Label : dns1035Label;
  checkString(errors, `${at}.service.name`, service.name, nameRule, true);
  const port = objectAt(errors, `${at}.service.port`, service.port) ?? {};
  const hasName = isSet(port.name) && port.name !== '';
  const hasNumber = isSet(port.number) && port.number !== 0;
  if (hasName && hasNumber) errors.invalid(at, '', 'cannot set both port name & port number');
  else if (hasName) checkString(errors, `${at}.service.port.name`, port.name, portName);
  else if (hasNumber) {
    if (typeof port.number !== 'number' || !Number.isInteger(port.number))
      errors.wrongType(`${at}.service.port.number`, port.number, 'integer');
    else errors.invalidEach(`${at}.service.port.number`, port.number, portNumber(port.number));
  } else errors.required(at, 'port name or number is required');
}

function validatePath(errors: FieldErrors, at: string, path: Any, relaxedServiceNames: boolean): void {
  const type = path.pathType;
  if (!isSet(type) || type === '') {
    errors.required(`${at}.pathType`, 'pathType must be specified');
    return;
  }
  const text = typeof path.path === 'string' ? path.path : '';
  if (isSet(path.path) && typeof path.path !== 'string') errors.wrongType(`${at}.path`, path.path, 'string');
  if (type === 'Exact' || type === 'Prefix') {
    if (!text.startsWith('/')) errors.invalid(`${at}.path`, text, 'must be an absolute path');
    if (text !== '') {
      for (const sequence of badPathSequences)
        if (text.includes(sequence)) errors.invalid(`${at}.path`, text, `must not contain '${sequence}'`);
      for (const suffix of badPathSuffixes)
        if (text.endsWith(suffix)) errors.invalid(`${at}.path`, text, `cannot end with '${suffix}'`);
    }
  } else if (type === 'ImplementationSpecific') {
    if (text !== '' && !text.startsWith('/')) errors.invalid(`${at}.path`, text, 'must be an absolute path');
  } else {
    errors.notSupported(`${at}.pathType`, type, pathTypes);
  }
  validateBackend(errors, `${at}.backend`, objectAt(errors, `${at}.backend`, path.backend) ?? {}, relaxedServiceNames);
}

/** The http part of a rule: at least one path, each valid. */
function ruleValueErrors(errors: FieldErrors, at: string, rule: Any, relaxedServiceNames: boolean): void {
  const http = objectAt(errors, `${at}.http`, rule.http);
  if (http === undefined) return;
  const paths = objectsOf(errors, `${at}.http.paths`, http.paths);
  if (!Array.isArray(http.paths) || http.paths.length === 0) errors.required(`${at}.http.paths`);
  for (const [path, pathAt] of paths) validatePath(errors, pathAt, path, relaxedServiceNames);
}

/** What an update may keep from the stored Ingress although it would be refused on create. */
interface Leniency {
  readonly invalidSecretNames: boolean;
  readonly invalidWildcardRules: boolean;
  readonly relaxedServiceNames: boolean;
}

function ruleValueIsInvalid(rule: Any): boolean {
  const found = new FieldErrors();
  ruleValueErrors(found, '', rule, false);
  return !found.empty;
}

function serviceNamesOf(spec: Any): string[] {
  const names: string[] = [];
  const add = (backend: unknown) => {
    if (isObject(backend) && isObject(backend.service) && typeof backend.service.name === 'string')
      names.push(backend.service.name);
  };
  add(spec.defaultBackend);
  for (const rule of Array.isArray(spec.rules) ? spec.rules : [])
    for (const path of isObject(rule) && isObject(rule.http) && Array.isArray(rule.http.paths) ? rule.http.paths : [])
      if (isObject(path)) add(path.backend);
  return names;
}

function leniencyOf(old: Any | undefined): Leniency {
  const spec = isObject(old?.spec) ? old.spec : undefined;
  if (spec === undefined) return { invalidSecretNames: false, invalidWildcardRules: false, relaxedServiceNames: false };
  const tls = Array.isArray(spec.tls) ? spec.tls.filter(isObject) : [];
  const rules = Array.isArray(spec.rules) ? spec.rules.filter(isObject) : [];
  return {
    invalidSecretNames: tls.some(
      (t) => typeof t.secretName === 'string' && t.secretName !== '' && dns1123Subdomain(t.secretName).length > 0,
    ),
    invalidWildcardRules: rules.some(
      (r) => typeof r.host === 'string' && r.host.includes('*') && ruleValueIsInvalid(r),
    ),
    // a stored name that is a DNS-1123 label but no DNS-1035 one ("1web") may stay
    relaxedServiceNames: serviceNamesOf(spec).some(
      (name) => dns1035Label(name).length > 0 && dns1123Label(name).length === 0,
    ),
  };
}

export function validateIngress(errors: FieldErrors, o: Any, old: Any | undefined): void {
  const spec = objectAt(errors, 'spec', o.spec) ?? {};
  const lenient = leniencyOf(old);
  const rules = objectsOf(errors, 'spec.rules', spec.rules);
  const defaultBackend = objectAt(errors, 'spec.defaultBackend', spec.defaultBackend);
  if (rules.length === 0 && defaultBackend === undefined) {
    const shown = Array.isArray(spec.rules) ? '[]networking.IngressRule{}' : '[]networking.IngressRule(nil)';
    errors.invalidCombination('spec', `${shown}: either \`defaultBackend\` or \`rules\` must be specified`);
  }
  if (defaultBackend !== undefined)
    validateBackend(errors, 'spec.defaultBackend', defaultBackend, lenient.relaxedServiceNames);
  for (const [rule, at] of rules) {
    let wildcard = false;
    if (checkString(errors, `${at}.host`, rule.host)) {
      if (isIp(rule.host)) errors.invalid(`${at}.host`, rule.host, 'must be a DNS name, not an IP address');
      wildcard = rule.host.includes('*');
      errors.invalidEach(`${at}.host`, rule.host, hostProblems(rule.host));
    }
    if (!wildcard || !lenient.invalidWildcardRules) ruleValueErrors(errors, at, rule, lenient.relaxedServiceNames);
  }
  for (const [tls, at] of objectsOf(errors, 'spec.tls', spec.tls)) {
    for (const [host, hostAt] of stringsOf(errors, `${at}.hosts`, tls.hosts))
      errors.invalidEach(hostAt, host, hostProblems(host));
    if (!lenient.invalidSecretNames) checkString(errors, `${at}.secretName`, tls.secretName, dns1123Subdomain);
  }
  if (isSet(spec.ingressClassName)) {
    if (typeof spec.ingressClassName !== 'string')
      errors.wrongType('spec.ingressClassName', spec.ingressClassName, 'string');
    else errors.invalidEach('spec.ingressClassName', spec.ingressClassName, dns1123Subdomain(spec.ingressClassName));
  }
  if (old === undefined) {
    const annotated = isObject(o.metadata?.annotations) ? o.metadata.annotations[ingressClassAnnotation] : undefined;
    if (
      typeof annotated === 'string' &&
      typeof spec.ingressClassName === 'string' &&
      annotated !== spec.ingressClassName
    )
      errors.invalid(
        `annotations.${ingressClassAnnotation}`,
        annotated,
        'must match `ingressClassName` when both are specified',
      );
  }
}

/** The status an ingress controller writes: the addresses it is reached at. */
export function validateIngressStatus(errors: FieldErrors, status: Any): void {
  const balancer = objectAt(errors, 'status.loadBalancer', status.loadBalancer);
  for (const [ingress, at] of objectsOf(errors, 'status.loadBalancer.ingress', balancer?.ingress)) {
    checkString(errors, `${at}.ip`, ingress.ip, ipAddress);
    if (checkString(errors, `${at}.hostname`, ingress.hostname, dns1123Subdomain) && isIp(ingress.hostname))
      errors.invalid(`${at}.hostname`, ingress.hostname, 'must be a DNS name, not an IP address');
  }
}

export function validateIngressClass(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec) ?? {};
  if (checkString(errors, 'spec.controller', spec.controller, undefined, true)) {
    if (spec.controller.length > controllerMaxLength) errors.tooLong('spec.controller', controllerMaxLength);
    checkDomainPrefixedPath(errors, 'spec.controller', spec.controller);
  }
  const parameters = objectAt(errors, 'spec.parameters', spec.parameters);
  if (parameters === undefined) return;
  const at = 'spec.parameters';
  if (isSet(parameters.apiGroup) && checkString(errors, `${at}.apiGroup`, parameters.apiGroup))
    errors.invalidEach(`${at}.apiGroup`, parameters.apiGroup, dns1123Subdomain(parameters.apiGroup));
  checkString(errors, `${at}.kind`, parameters.kind, pathSegment, true);
  checkString(errors, `${at}.name`, parameters.name, pathSegment, true);
  if (!isSet(parameters.scope)) {
    errors.required(`${at}.scope`);
    return;
  }
  if (!parameterScopes.includes(parameters.scope)) {
    errors.notSupported(`${at}.scope`, parameters.scope, parameterScopes);
    return;
  }
  if (parameters.scope === 'Namespace') {
    if (!isSet(parameters.namespace)) errors.required(`${at}.namespace`, "`parameters.scope` is set to 'Namespace'");
    else checkString(errors, `${at}.namespace`, parameters.namespace, dns1123Label);
  } else if (isSet(parameters.namespace)) {
    errors.forbidden(`${at}.namespace`, "`parameters.scope` is set to 'Cluster'");
  }
}

export function validateIngressClassUpdate(errors: FieldErrors, o: Any, old: Any): void {
  const controller = o.spec?.controller;
  if (controller !== old.spec?.controller) errors.invalid('spec.controller', controller ?? '', 'field is immutable');
}
