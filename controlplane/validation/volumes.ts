/**
 * Pod volumes (upstream's validateVolumes): names that are DNS labels and unique (they become
 * folder names on the node), at most one source each, and every path that a volume writes or
 * mounts kept inside its own folder: item paths and subPaths relative without '..', hostPath
 * paths without '..'.
 */
import { validateFieldSelector, volumeFieldPaths } from './downward-api.ts';
import type { FieldErrors } from './field-errors.ts';
import { checkEnum, checkInteger, checkString, isSet, objectAt, objectsOf, setKeys, type Any } from './fields.ts';
import { dns1123Label, dns1123Subdomain } from '../../kube/name-formats.ts';
import { checkQuantity } from './quantities.ts';

/** Every volume source upstream knows, in the order upstream looks at them; a volume names at most one (none means emptyDir). */
const volumeSources = [
  'emptyDir',
  'hostPath',
  'gitRepo',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'flexVolume',
  'persistentVolumeClaim',
  'rbd',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'configMap',
  'projected',
  'storageos',
  'csi',
  'ephemeral',
  'image',
] as const;

const hostPathTypes = [
  '',
  'BlockDevice',
  'CharDevice',
  'Directory',
  'DirectoryOrCreate',
  'File',
  'FileOrCreate',
  'Socket',
];
const modeMessage = 'must be a number between 0 and 0777 (octal), both inclusive';

/** A path inside the volume or container: relative, and no element may climb out with '..'. */
export function checkRelativePath(errors: FieldErrors, path: string, value: string): void {
  if (value.startsWith('/')) errors.invalid(path, value, 'must be a relative path');
  if (value.split('/').includes('..')) errors.invalid(path, value, "must not contain '..'");
}

/** Item paths of configMap/secret/downwardAPI/projected volumes: also may not start with '..'. */
function checkItemPath(errors: FieldErrors, path: string, value: unknown): void {
  if (!checkString(errors, path, value, undefined, true)) return;
  checkRelativePath(errors, path, value);
  if (value.startsWith('..') && !value.startsWith('../')) errors.invalid(path, value, "must not start with '..'");
}

function checkMode(errors: FieldErrors, path: string, value: unknown): void {
  checkInteger(errors, path, value, { min: 0, max: 0o777, rangeMessage: modeMessage });
}

function validateKeyToPaths(errors: FieldErrors, path: string, items: unknown): void {
  for (const [item, at] of objectsOf(errors, path, items)) {
    checkString(errors, `${at}.key`, item.key, undefined, true);
    checkItemPath(errors, `${at}.path`, item.path);
    checkMode(errors, `${at}.mode`, item.mode);
  }
}

function validateDownwardApiItems(errors: FieldErrors, path: string, items: unknown): void {
  for (const [item, at] of objectsOf(errors, path, items)) {
    checkItemPath(errors, `${at}.path`, item.path);
    checkMode(errors, `${at}.mode`, item.mode);
    const sources = setKeys(item, ['fieldRef', 'resourceFieldRef']);
    if (sources.length > 1)
      errors.invalid(at, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously');
    else if (sources.length === 0) errors.required(at, 'one of fieldRef and resourceFieldRef is required');
    const fieldRef = objectAt(errors, `${at}.fieldRef`, item.fieldRef);
    if (fieldRef) validateFieldSelector(errors, `${at}.fieldRef`, fieldRef, volumeFieldPaths);
  }
}

function validateProjected(errors: FieldErrors, path: string, projected: Any): void {
  checkMode(errors, `${path}.defaultMode`, projected.defaultMode);
  for (const [source, at] of objectsOf(errors, `${path}.sources`, projected.sources)) {
    const kinds = setKeys(source, [
      'secret',
      'configMap',
      'downwardAPI',
      'serviceAccountToken',
      'clusterTrustBundle',
      'podCertificate',
    ]);
    if (kinds.length > 1) errors.forbidden(`${at}.${kinds[1]}`, 'may not specify more than 1 volume type per source');
    const secret = objectAt(errors, `${at}.secret`, source.secret);
    if (secret) validateKeyToPaths(errors, `${at}.secret.items`, secret.items);
    const configMap = objectAt(errors, `${at}.configMap`, source.configMap);
    if (configMap) validateKeyToPaths(errors, `${at}.configMap.items`, configMap.items);
    const downward = objectAt(errors, `${at}.downwardAPI`, source.downwardAPI);
    if (downward) validateDownwardApiItems(errors, `${at}.downwardAPI.items`, downward.items);
    const token = objectAt(errors, `${at}.serviceAccountToken`, source.serviceAccountToken);
    if (token) {
      checkItemPath(errors, `${at}.serviceAccountToken.path`, token.path);
      const seconds = token.expirationSeconds;
      if (checkInteger(errors, `${at}.serviceAccountToken.expirationSeconds`, seconds)) {
        if (seconds < 600)
          errors.invalid(
            `${at}.serviceAccountToken.expirationSeconds`,
            seconds,
            'may not specify a duration less than 10 minutes',
          );
        else if (seconds > 2 ** 32)
          errors.invalid(
            `${at}.serviceAccountToken.expirationSeconds`,
            seconds,
            'may not specify a duration larger than 2^32 seconds',
          );
      }
    }
  }
}

function validateVolumeSource(errors: FieldErrors, path: string, volume: Any): void {
  const hostPath = objectAt(errors, `${path}.hostPath`, volume.hostPath);
  if (
    hostPath &&
    checkString(errors, `${path}.hostPath.path`, hostPath.path, undefined, true) &&
    hostPath.path.split('/').includes('..')
  ) {
    errors.invalid(`${path}.hostPath.path`, hostPath.path, "must not contain '..'");
  }
  if (hostPath) checkEnum(errors, `${path}.hostPath.type`, hostPath.type, hostPathTypes);
  const emptyDir = objectAt(errors, `${path}.emptyDir`, volume.emptyDir);
  if (emptyDir) {
    if (
      isSet(emptyDir.medium) &&
      !(typeof emptyDir.medium === 'string' && /^(|Memory|HugePages(-.+)?)$/.test(emptyDir.medium))
    ) {
      errors.notSupported(`${path}.emptyDir.medium`, emptyDir.medium, ['', 'Memory', 'HugePages']);
    }
    checkQuantity(errors, `${path}.emptyDir.sizeLimit`, emptyDir.sizeLimit);
  }
  const secret = objectAt(errors, `${path}.secret`, volume.secret);
  if (secret) {
    checkString(errors, `${path}.secret.secretName`, secret.secretName, dns1123Subdomain, true);
    checkMode(errors, `${path}.secret.defaultMode`, secret.defaultMode);
    validateKeyToPaths(errors, `${path}.secret.items`, secret.items);
  }
  const configMap = objectAt(errors, `${path}.configMap`, volume.configMap);
  if (configMap) {
    checkString(errors, `${path}.configMap.name`, configMap.name, dns1123Subdomain, true);
    checkMode(errors, `${path}.configMap.defaultMode`, configMap.defaultMode);
    validateKeyToPaths(errors, `${path}.configMap.items`, configMap.items);
  }
  const downward = objectAt(errors, `${path}.downwardAPI`, volume.downwardAPI);
  if (downward) {
    checkMode(errors, `${path}.downwardAPI.defaultMode`, downward.defaultMode);
    validateDownwardApiItems(errors, `${path}.downwardAPI.items`, downward.items);
  }
  const projected = objectAt(errors, `${path}.projected`, volume.projected);
  if (projected) validateProjected(errors, `${path}.projected`, projected);
  const claim = objectAt(errors, `${path}.persistentVolumeClaim`, volume.persistentVolumeClaim);
  if (claim) checkString(errors, `${path}.persistentVolumeClaim.claimName`, claim.claimName, undefined, true);
  const nfs = objectAt(errors, `${path}.nfs`, volume.nfs);
  if (nfs) {
    checkString(errors, `${path}.nfs.server`, nfs.server, undefined, true);
    if (checkString(errors, `${path}.nfs.path`, nfs.path, undefined, true) && !nfs.path.startsWith('/'))
      errors.invalid(`${path}.nfs.path`, nfs.path, 'must be an absolute path');
  }
}

/** The pod's volumes; returns their names for the mounts to refer to. */
export function validateVolumes(errors: FieldErrors, path: string, volumes: unknown): Set<string> {
  const names = new Set<string>();
  for (const [volume, at] of objectsOf(errors, path, volumes)) {
    if (checkString(errors, `${at}.name`, volume.name, dns1123Label, true)) {
      if (names.has(volume.name)) errors.duplicate(`${at}.name`, volume.name);
      names.add(volume.name);
    }
    // Upstream keeps the first source it finds and refuses each further one.
    for (const extra of setKeys(volume, volumeSources).slice(1))
      errors.forbidden(`${at}.${extra}`, 'may not specify more than 1 volume type');
    validateVolumeSource(errors, at, volume);
  }
  return names;
}
