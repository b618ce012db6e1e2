/**
 * Rules for the core kinds other than Pod and Service (upstream's pkg/apis/core/validation):
 * ConfigMap and Secret keys (they become file names in pods), Endpoints, Node, Namespace,
 * ServiceAccount, LimitRange, ResourceQuota.
 */
import type { FieldErrors } from './field-errors.ts';
import {
  checkBoolean,
  checkEnum,
  checkInteger,
  checkString,
  isObject,
  isSet,
  objectAt,
  objectsOf,
  sameJson,
  stringMapAt,
  stringsOf,
  uniqueTracker,
  type Any,
} from './fields.ts';
import {
  cidr,
  configMapKey,
  dns1123Label,
  dns1123Subdomain,
  ipAddress,
  labelValue,
  portNumber,
  qualifiedName,
} from '../../kube/name-formats.ts';
import { checkResourceList } from './quantities.ts';
import { protocols } from './service.ts';

/** Upstream's limit on the data of one ConfigMap or Secret (core.MaxSecretSize). */
const maxDataSize = 1024 * 1024;

/** Bytes a data map holds: text as UTF-8, base64 values decoded. */
function dataSize(map: unknown, encoding: 'utf8' | 'base64'): number {
  if (!isObject(map)) return 0;
  return Object.values(map).reduce<number>(
    (sum, value) => sum + (typeof value === 'string' ? Buffer.byteLength(value, encoding) : 0),
    0,
  );
}

/** Keys of data maps: each key becomes a file name in the pods that mount the object. */
function validateDataKeys(errors: FieldErrors, field: string, map: unknown): string[] {
  const keys = stringMapAt(errors, field, map).map(([key]) => key);
  for (const key of keys) errors.invalidEach(`${field}[${key}]`, key, configMapKey(key));
  return keys;
}

export function validateConfigMap(errors: FieldErrors, o: Any): void {
  const textKeys = new Set(validateDataKeys(errors, 'data', o.data));
  for (const key of validateDataKeys(errors, 'binaryData', o.binaryData)) {
    if (textKeys.has(key)) errors.invalid(`binaryData[${key}]`, key, 'duplicate of key present in data');
  }
  if (dataSize(o.data, 'utf8') + dataSize(o.binaryData, 'base64') > maxDataSize) errors.tooLong('', maxDataSize);
  checkBoolean(errors, 'immutable', o.immutable);
}

/** Keys that the well-known secret types must carry (upstream's ValidateSecret). */
const requiredSecretKeys: Readonly<Record<string, readonly string[]>> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

export function validateSecret(errors: FieldErrors, o: Any): void {
  validateDataKeys(errors, 'data', o.data);
  validateDataKeys(errors, 'stringData', o.stringData);
  if (dataSize(o.data, 'base64') + dataSize(o.stringData, 'utf8') > maxDataSize) errors.tooLong('data', maxDataSize);
  checkBoolean(errors, 'immutable', o.immutable);
  if (!checkString(errors, 'type', o.type)) return;
  const present = (key: string) =>
    (isSet(o.data?.[key]) && o.data[key] !== '') || (isSet(o.stringData?.[key]) && o.stringData[key] !== '');
  for (const key of requiredSecretKeys[o.type] ?? []) if (!present(key)) errors.required(`data[${key}]`);
  if (o.type === 'kubernetes.io/basic-auth' && !present('username') && !present('password')) {
    errors.required('data[username]');
    errors.required('data[password]');
  }
  if (o.type === 'kubernetes.io/service-account-token') {
    checkString(
      errors,
      'metadata.annotations[kubernetes.io/service-account.name]',
      o.metadata?.annotations?.['kubernetes.io/service-account.name'],
      undefined,
      true,
    );
  }
}

function validateEndpointPorts(
  errors: FieldErrors,
  path: string,
  value: unknown,
  nameCheck: (v: string) => string[],
): void {
  const ports = objectsOf(errors, path, value);
  const names = uniqueTracker(errors);
  for (const [port, at] of ports) {
    if (ports.length > 1 && (!isSet(port.name) || port.name === '')) errors.required(`${at}.name`);
    else if (checkString(errors, `${at}.name`, port.name, nameCheck)) names(`${at}.name`, port.name);
    if (checkInteger(errors, `${at}.port`, port.port, { required: true }))
      errors.invalidEach(`${at}.port`, port.port, portNumber(port.port));
    checkEnum(errors, `${at}.protocol`, port.protocol, protocols);
    checkString(errors, `${at}.appProtocol`, port.appProtocol, qualifiedName);
  }
}

export function validateEndpoints(errors: FieldErrors, o: Any): void {
  for (const [subset, at] of objectsOf(errors, 'subsets', o.subsets)) {
    for (const list of ['addresses', 'notReadyAddresses'] as const) {
      for (const [address, aat] of objectsOf(errors, `${at}.${list}`, subset[list])) {
        checkString(errors, `${aat}.ip`, address.ip, ipAddress, true);
        checkString(errors, `${aat}.hostname`, address.hostname, dns1123Label);
        checkString(errors, `${aat}.nodeName`, address.nodeName, dns1123Subdomain);
      }
    }
    validateEndpointPorts(errors, `${at}.ports`, subset.ports, dns1123Label);
  }
}

const taintEffects = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

export function validateNode(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return;
  checkString(errors, 'spec.podCIDR', spec.podCIDR, cidr);
  const podCidrs = stringsOf(errors, 'spec.podCIDRs', spec.podCIDRs);
  for (const [range, at] of podCidrs) errors.invalidEach(at, range, cidr(range));
  if (podCidrs.length > 2)
    errors.invalid('spec.podCIDRs', spec.podCIDRs, 'may specify no more than one CIDR for each IP family');
  if (
    podCidrs.length > 0 &&
    typeof spec.podCIDR === 'string' &&
    spec.podCIDR !== '' &&
    podCidrs[0]![0] !== spec.podCIDR
  ) {
    errors.invalid('spec.podCIDRs', spec.podCIDRs, 'the first element must match `podCIDR`');
  }
  checkBoolean(errors, 'spec.unschedulable', spec.unschedulable);
  checkString(errors, 'spec.providerID', spec.providerID);
  const taints = uniqueTracker(errors);
  for (const [taint, at] of objectsOf(errors, 'spec.taints', spec.taints)) {
    checkString(errors, `${at}.key`, taint.key, qualifiedName, true);
    checkString(errors, `${at}.value`, taint.value, labelValue);
    checkEnum(errors, `${at}.effect`, taint.effect, taintEffects, true);
    if (typeof taint.key === 'string' && typeof taint.effect === 'string') taints(at, `${taint.key}:${taint.effect}`);
  }
  const status = objectAt(errors, 'status', o.status);
  for (const [address, at] of objectsOf(errors, 'status.addresses', status?.addresses)) {
    checkString(errors, `${at}.type`, address.type, undefined, true);
    checkString(errors, `${at}.address`, address.address, undefined, true);
  }
}

export function validateNamespace(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  for (const [finalizer, at] of stringsOf(errors, 'spec.finalizers', spec?.finalizers))
    errors.invalidEach(at, finalizer, qualifiedName(finalizer));
}

export function validateServiceAccount(errors: FieldErrors, o: Any): void {
  for (const list of ['secrets', 'imagePullSecrets'] as const) {
    for (const [ref, at] of objectsOf(errors, list, o[list]))
      checkString(errors, `${at}.name`, ref.name, dns1123Subdomain);
  }
  checkBoolean(errors, 'automountServiceAccountToken', o.automountServiceAccountToken);
}

export function validateLimitRange(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  for (const [limit, at] of objectsOf(errors, 'spec.limits', spec?.limits)) {
    checkEnum(errors, `${at}.type`, limit.type, ['Container', 'PersistentVolumeClaim', 'Pod'], true);
    for (const field of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'] as const)
      checkResourceList(errors, `${at}.${field}`, limit[field]);
  }
}

const quotaScopes = [
  'BestEffort',
  'CrossNamespacePodAffinity',
  'NotBestEffort',
  'NotTerminating',
  'PriorityClass',
  'Terminating',
  'VolumeAttributesClass',
];

export function validateResourceQuota(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return;
  checkResourceList(errors, 'spec.hard', spec.hard);
  for (const [scope, at] of stringsOf(errors, 'spec.scopes', spec.scopes)) checkEnum(errors, at, scope, quotaScopes);
}

/** Secret type never changes; an immutable ConfigMap or Secret keeps its data for good. */
export function validateDataUpdate(errors: FieldErrors, resource: string, o: Any, old: Any): void {
  if (resource === 'secrets' && !sameJson(o.type, old.type)) errors.invalid('type', o.type, 'field is immutable');
  if (old.immutable !== true) return;
  if (o.immutable !== true) errors.forbidden('immutable', 'field is immutable when `immutable` is set');
  if (!sameJson(o.data, old.data) || !sameJson(o.binaryData, old.binaryData))
    errors.forbidden('data', 'field is immutable when `immutable` is set');
}

/**
 * A core Event written the old way (no eventTime) lives in the namespace of the object it is
 * about, or in `default` when that object has none (upstream's legacy event rule): a tenant
 * cannot file events about another namespace's objects.
 */
export function validateEvent(errors: FieldErrors, o: Any): void {
  const involved = objectAt(errors, 'involvedObject', o.involvedObject);
  for (const field of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'] as const)
    checkString(errors, `involvedObject.${field}`, involved?.[field]);
  checkInteger(errors, 'count', o.count, { min: 0 });
  if (isSet(o.eventTime)) return;
  const namespace = o.metadata?.namespace ?? '';
  const involvedNamespace = typeof involved?.namespace === 'string' ? involved.namespace : '';
  const agrees =
    involvedNamespace === '' ? namespace === '' || namespace === 'default' : namespace === involvedNamespace;
  if (!agrees) errors.invalid('involvedObject.namespace', involvedNamespace, 'does not match event.namespace');
}

/** A node's pod subnets are assigned once (upstream's ValidateNodeUpdate), and so is its provider ID. */
export function validateNodeUpdate(errors: FieldErrors, o: Any, old: Any): void {
  const cidrsOf = (node: Any): unknown[] => {
    const spec = isObject(node.spec) ? node.spec : {};
    if (Array.isArray(spec.podCIDRs) && spec.podCIDRs.length > 0) return spec.podCIDRs;
    return typeof spec.podCIDR === 'string' && spec.podCIDR !== '' ? [spec.podCIDR] : [];
  };
  const before = cidrsOf(old);
  if (before.length > 0 && !sameJson(before, cidrsOf(o)))
    errors.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid');
  const oldProvider = old.spec?.providerID;
  if (typeof oldProvider === 'string' && oldProvider !== '' && o.spec?.providerID !== oldProvider) {
    errors.forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid');
  }
}
