/**
 * PersistentVolumes, PersistentVolumeClaims (core/v1) and StorageClasses (storage.k8s.io/v1) as
 * upstream validates them: access modes, capacity, reclaim policy, volume mode, class names, one
 * volume source per PV (local ones with a node affinity), and what may change afterwards: a PV's
 * source and volume mode never; a claim's spec only to fill `volumeName` once or to grow its
 * storage request; a class's provisioner, parameters, reclaim policy and binding mode never.
 */
import { dns1123Subdomain, qualifiedName } from '../../kube/name-formats.ts';
import { parseQuantity } from '../../kube/quantity.ts';
import type { FieldErrors } from './field-errors.ts';
import {
  checkEnum,
  checkString,
  isSet,
  objectAt,
  objectsOf,
  sameJson,
  setKeys,
  stringsOf,
  type Any,
} from './fields.ts';
import { checkQuantity } from './quantities.ts';
import { validateNodeSelectorTerm } from './scheduling.ts';
import { validateLabelSelector } from './selectors.ts';

const accessModes = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const reclaimPolicies = ['Delete', 'Recycle', 'Retain'];
const volumeModes = ['Block', 'Filesystem'];
const bindingModes = ['Immediate', 'WaitForFirstConsumer'];

/** The volume sources a PV may name, in the order upstream checks them (the first one counts). */
const pvSources = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'glusterfs',
  'flocker',
  'nfs',
  'rbd',
  'quobyte',
  'cephfs',
  'iscsi',
  'cinder',
  'fc',
  'flexVolume',
  'azureFile',
  'vsphereVolume',
  'photonPersistentDisk',
  'portworxVolume',
  'azureDisk',
  'scaleIO',
  'local',
  'storageos',
  'csi',
];

function checkAccessModes(errors: FieldErrors, path: string, value: unknown, requiredDetail: string): void {
  const modes = stringsOf(errors, path, value);
  if (modes.length === 0) errors.required(path, requiredDetail);
  let once = false;
  let other = false;
  for (const [mode] of modes) {
    if (!accessModes.includes(mode)) errors.notSupported(path, mode, accessModes);
    else if (mode === 'ReadWriteOncePod') once = true;
    else other = true;
  }
  if (once && other) errors.forbidden(path, 'may not use ReadWriteOncePod with other access modes');
}

function checkClassName(errors: FieldErrors, path: string, value: unknown): void {
  checkString(errors, path, value, dns1123Subdomain);
}

/** A quantity that must be above zero (`must be greater than zero`), or undefined. */
function positiveQuantity(errors: FieldErrors, path: string, value: unknown): number | undefined {
  const amount = checkQuantity(errors, path, value, false);
  if (amount === undefined) return undefined;
  if (amount <= 0) {
    errors.invalid(path, String(value), 'must be greater than zero');
    return undefined;
  }
  return amount;
}

/** A path on the node: required, and no element may climb with '..'. */
function checkNodePath(errors: FieldErrors, path: string, value: unknown): void {
  if (checkString(errors, path, value, undefined, true) && value.split('/').includes('..'))
    errors.invalid(path, value, "must not contain '..'");
}

function validateVolumeNodeAffinity(errors: FieldErrors, path: string, value: unknown): boolean {
  const affinity = objectAt(errors, path, value);
  if (affinity === undefined) return false;
  const required = objectAt(errors, `${path}.required`, affinity.required);
  if (required === undefined) {
    errors.required(`${path}.required`, 'must specify required node constraints');
    return false;
  }
  const terms = objectsOf(errors, `${path}.required.nodeSelectorTerms`, required.nodeSelectorTerms);
  if (terms.length === 0)
    errors.required(`${path}.required.nodeSelectorTerms`, 'must have at least one node selector term');
  for (const [term, at] of terms) validateNodeSelectorTerm(errors, at, term);
  return true;
}

export function validatePersistentVolume(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec) ?? {};
  checkAccessModes(errors, 'spec.accessModes', spec.accessModes, '');
  const capacity = objectAt(errors, 'spec.capacity', spec.capacity) ?? {};
  const resources = Object.keys(capacity);
  if (resources.length === 0) errors.required('spec.capacity');
  if (!resources.includes('storage') || resources.length > 1)
    errors.notSupported('spec.capacity', capacity, ['storage']);
  for (const resource of resources) positiveQuantity(errors, `spec.capacity[${resource}]`, capacity[resource]);
  checkEnum(errors, 'spec.persistentVolumeReclaimPolicy', spec.persistentVolumeReclaimPolicy, reclaimPolicies);
  const hasAffinity = validateVolumeNodeAffinity(errors, 'spec.nodeAffinity', spec.nodeAffinity);
  const sources = setKeys(spec, pvSources);
  if (sources.length === 0) errors.required('spec', 'must specify a volume type');
  for (const extra of sources.slice(1)) errors.forbidden(`spec.${extra}`, 'may not specify more than 1 volume type');
  const first = sources[0];
  if (first === 'hostPath') {
    const hostPath = objectAt(errors, 'spec.hostPath', spec.hostPath);
    if (hostPath) checkNodePath(errors, 'spec.hostPath.path', hostPath.path);
  }
  if (first === 'local') {
    const local = objectAt(errors, 'spec.local', spec.local);
    if (local) checkNodePath(errors, 'spec.local.path', local.path);
    if (!hasAffinity) errors.required('spec.nodeAffinity', 'Local volume requires node affinity');
  }
  if (
    first === 'hostPath' &&
    typeof spec.hostPath?.path === 'string' &&
    spec.hostPath.path.replace(/\/+$/, '') === '' &&
    spec.persistentVolumeReclaimPolicy === 'Recycle'
  ) {
    errors.forbidden('spec.persistentVolumeReclaimPolicy', "may not be 'recycle' for a hostPath mount of '/'");
  }
  checkClassName(errors, 'spec.storageClassName', spec.storageClassName);
  checkEnum(errors, 'spec.volumeMode', spec.volumeMode, volumeModes);
  const claimRef = objectAt(errors, 'spec.claimRef', spec.claimRef);
  if (claimRef) {
    checkString(errors, 'spec.claimRef.namespace', claimRef.namespace);
    checkString(errors, 'spec.claimRef.name', claimRef.name);
  }
}

export function validatePersistentVolumeUpdate(errors: FieldErrors, o: Any, old: Any): void {
  const source = (spec: Any | undefined) => Object.fromEntries(pvSources.map((key) => [key, spec?.[key]]));
  if (!sameJson(source(o.spec), source(old.spec)))
    errors.forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation');
  if (!sameJson(o.spec?.volumeMode, old.spec?.volumeMode))
    errors.invalid('volumeMode', o.spec?.volumeMode ?? null, 'field is immutable');
  if (isSet(old.spec?.nodeAffinity) && !sameJson(o.spec?.nodeAffinity, old.spec?.nodeAffinity))
    errors.invalid('nodeAffinity', o.spec?.nodeAffinity ?? null, 'field is immutable');
}

/** The spec rules shared by claims and StatefulSet claim templates. */
function validateClaimSpec(errors: FieldErrors, path: string, value: unknown): void {
  const spec = objectAt(errors, path, value) ?? {};
  checkAccessModes(errors, `${path}.accessModes`, spec.accessModes, 'at least 1 access mode is required');
  if (isSet(spec.selector)) validateLabelSelector(errors, `${path}.selector`, spec.selector);
  const requests = objectAt(
    errors,
    `${path}.resources.requests`,
    objectAt(errors, `${path}.resources`, spec.resources)?.requests,
  );
  if (!isSet(requests?.storage)) errors.required(`${path}.resources[storage]`);
  else positiveQuantity(errors, `${path}.resources[storage]`, requests!.storage);
  checkClassName(errors, `${path}.storageClassName`, spec.storageClassName);
  checkEnum(errors, `${path}.volumeMode`, spec.volumeMode, volumeModes);
  const dataSource = objectAt(errors, `${path}.dataSource`, spec.dataSource);
  if (dataSource) {
    checkString(errors, `${path}.dataSource.name`, dataSource.name, undefined, true);
    checkString(errors, `${path}.dataSource.kind`, dataSource.kind, undefined, true);
    if (!dataSource.apiGroup && dataSource.kind !== 'PersistentVolumeClaim')
      errors.invalid(
        `${path}.dataSource`,
        dataSource.kind ?? '',
        "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
      );
  }
}

export function validatePersistentVolumeClaim(errors: FieldErrors, o: Any): void {
  validateClaimSpec(errors, 'spec', o.spec);
}

function storageRequest(claim: Any): number | undefined {
  const value = claim.spec?.resources?.requests?.storage;
  try {
    return isSet(value) ? parseQuantity(value) : undefined;
  } catch {
    return undefined;
  }
}

export function validatePersistentVolumeClaimUpdate(errors: FieldErrors, o: Any, old: Any): void {
  const before = structuredClone(old.spec ?? {}) as Any;
  const after = structuredClone(o.spec ?? {}) as Any;
  // The binder fills volumeName once; a claim without a class may be given one.
  if (!before.volumeName) before.volumeName = after.volumeName;
  if (!isSet(before.storageClassName)) after.storageClassName = before.storageClassName;
  // A bound claim may change its storage request (the expander acts on it).
  if (o.status?.phase === 'Bound' && after.resources?.requests)
    after.resources.requests.storage = before.resources?.requests?.storage;
  after.volumeAttributesClassName = before.volumeAttributesClassName;
  if (!sameJson(after, before))
    errors.forbidden(
      'spec',
      'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    );
  const oldSize = storageRequest(old);
  const newSize = storageRequest(o);
  if (oldSize !== undefined && newSize !== undefined && newSize < oldSize)
    errors.forbidden('spec.resources.requests.storage', 'field can not be less than previous value');
  if (!sameJson(o.spec?.volumeMode, old.spec?.volumeMode))
    errors.invalid('volumeMode', o.spec?.volumeMode ?? null, 'field is immutable');
}

export function validateStorageClass(errors: FieldErrors, o: Any): void {
  if (!isSet(o.provisioner) || o.provisioner === '') errors.required('provisioner');
  else if (typeof o.provisioner !== 'string') errors.wrongType('provisioner', o.provisioner, 'string');
  else errors.invalidEach('provisioner', o.provisioner, qualifiedName(o.provisioner.toLowerCase()));
  const parameters = objectAt(errors, 'parameters', o.parameters) ?? {};
  const keys = Object.keys(parameters);
  if (keys.length > 512) errors.tooMany('parameters', keys.length, 512);
  if (keys.some((k) => k === '')) errors.invalid('parameters', parameters, 'key may not be empty');
  checkEnum(errors, 'reclaimPolicy', o.reclaimPolicy, ['Delete', 'Retain']);
  if (!isSet(o.volumeBindingMode)) errors.required('volumeBindingMode');
  else checkEnum(errors, 'volumeBindingMode', o.volumeBindingMode, bindingModes);
}

export function validateStorageClassUpdate(errors: FieldErrors, o: Any, old: Any): void {
  if (!sameJson(o.parameters, old.parameters)) errors.forbidden('parameters', 'updates to parameters are forbidden.');
  if (o.provisioner !== old.provisioner) errors.forbidden('provisioner', 'updates to provisioner are forbidden.');
  if (o.reclaimPolicy !== old.reclaimPolicy)
    errors.forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.');
  if (o.volumeBindingMode !== old.volumeBindingMode)
    errors.invalid('volumeBindingMode', o.volumeBindingMode ?? null, 'field is immutable');
}

/** CSIDriver, CSINode and VolumeAttachment: served for discovery; their required fields only. */
export function validateCsiNode(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  for (const [driver, at] of objectsOf(errors, 'spec.drivers', spec?.drivers)) {
    checkString(errors, `${at}.name`, driver.name, undefined, true);
    checkString(errors, `${at}.nodeID`, driver.nodeID, undefined, true);
  }
}

export function validateVolumeAttachment(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec) ?? {};
  checkString(errors, 'spec.attacher', spec.attacher, undefined, true);
  checkString(errors, 'spec.nodeName', spec.nodeName, undefined, true);
  const source = objectAt(errors, 'spec.source', spec.source) ?? {};
  if (setKeys(source, ['persistentVolumeName', 'inlineVolumeSpec']).length !== 1)
    errors.required('spec.source', 'must specify exactly one of inlineVolumeSpec and persistentVolumeName');
}
