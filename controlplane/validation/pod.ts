/**
 * PodSpec rules (upstream's ValidatePodSpec and the pod update rules). Every field here reaches a
 * node: volume names and item paths become host paths, container and port names and env names
 * go to the runtime, so their formats are checked here before anything is stored.
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
  setKeys,
  stringsOf,
  uniqueTracker,
  type Any,
} from './fields.ts';
import { validateAnnotations, validateLabels } from './metadata.ts';
import { configMapKey, labelValue, dns1123Label, dns1123Subdomain, envVarName, ipAddress, portName, portNumber, qualifiedName } from './names.ts';
import { checkQuantity, checkResourceList } from './quantities.ts';
import { validateAffinity, validateTopologySpread } from './scheduling.ts';

/** Every volume source upstream knows, in the order upstream looks at them; a volume names at most one (none means emptyDir). */
const volumeSources = [
  'emptyDir', 'hostPath', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'secret', 'nfs', 'iscsi', 'glusterfs', 'flexVolume',
  'persistentVolumeClaim', 'rbd', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk',
  'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'configMap', 'projected', 'storageos', 'csi', 'ephemeral', 'image',
] as const;

const protocols = ['SCTP', 'TCP', 'UDP'];
const hostPathTypes = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];
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
    if (sources.length > 1) errors.invalid(at, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously');
    else if (sources.length === 0) errors.required(at, 'one of fieldRef and resourceFieldRef is required');
  }
}

function validateProjected(errors: FieldErrors, path: string, projected: Any): void {
  checkMode(errors, `${path}.defaultMode`, projected.defaultMode);
  for (const [source, at] of objectsOf(errors, `${path}.sources`, projected.sources)) {
    const kinds = setKeys(source, ['secret', 'configMap', 'downwardAPI', 'serviceAccountToken', 'clusterTrustBundle', 'podCertificate']);
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
        if (seconds < 600) errors.invalid(`${at}.serviceAccountToken.expirationSeconds`, seconds, 'may not specify a duration less than 10 minutes');
        else if (seconds > 2 ** 32) errors.invalid(`${at}.serviceAccountToken.expirationSeconds`, seconds, 'may not specify a duration larger than 2^32 seconds');
      }
    }
  }
}

function validateVolumeSource(errors: FieldErrors, path: string, volume: Any): void {
  const hostPath = objectAt(errors, `${path}.hostPath`, volume.hostPath);
  if (hostPath && checkString(errors, `${path}.hostPath.path`, hostPath.path, undefined, true) && hostPath.path.split('/').includes('..')) {
    errors.invalid(`${path}.hostPath.path`, hostPath.path, "must not contain '..'");
  }
  if (hostPath) checkEnum(errors, `${path}.hostPath.type`, hostPath.type, hostPathTypes);
  const emptyDir = objectAt(errors, `${path}.emptyDir`, volume.emptyDir);
  if (emptyDir) {
    if (isSet(emptyDir.medium) && !(typeof emptyDir.medium === 'string' && /^(|Memory|HugePages(-.+)?)$/.test(emptyDir.medium))) {
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
    if (checkString(errors, `${path}.nfs.path`, nfs.path, undefined, true) && !nfs.path.startsWith('/')) errors.invalid(`${path}.nfs.path`, nfs.path, 'must be an absolute path');
  }
}

/** The pod's volumes; returns their names for the mounts to refer to. */
function validateVolumes(errors: FieldErrors, path: string, volumes: unknown): Set<string> {
  const names = new Set<string>();
  for (const [volume, at] of objectsOf(errors, path, volumes)) {
    if (checkString(errors, `${at}.name`, volume.name, dns1123Label, true)) {
      if (names.has(volume.name)) errors.duplicate(`${at}.name`, volume.name);
      names.add(volume.name);
    }
    // Upstream keeps the first source it finds and refuses each further one.
    for (const extra of setKeys(volume, volumeSources).slice(1)) errors.forbidden(`${at}.${extra}`, 'may not specify more than 1 volume type');
    validateVolumeSource(errors, at, volume);
  }
  return names;
}

function checkProbePort(errors: FieldErrors, path: string, port: unknown): void {
  if (typeof port === 'string') {
    if (port === '') errors.required(path);
    else errors.invalidEach(path, port, portName(port));
  } else if (typeof port === 'number') {
    errors.invalidEach(path, port, portNumber(port));
  } else if (!isSet(port)) {
    errors.required(path);
  } else {
    errors.wrongType(path, port, 'integer or string');
  }
}

const handlerKinds = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;

function validateHandler(errors: FieldErrors, path: string, handler: Any): void {
  const kinds = setKeys(handler, handlerKinds);
  if (kinds.length === 0) errors.required(path, 'must specify a handler type');
  for (const extra of kinds.slice(1)) errors.forbidden(`${path}.${extra}`, 'may not specify more than 1 handler type');
  const exec = objectAt(errors, `${path}.exec`, handler.exec);
  if (exec && stringsOf(errors, `${path}.exec.command`, exec.command).length === 0) errors.required(`${path}.exec.command`);
  const httpGet = objectAt(errors, `${path}.httpGet`, handler.httpGet);
  if (httpGet) {
    checkProbePort(errors, `${path}.httpGet.port`, httpGet.port);
    checkEnum(errors, `${path}.httpGet.scheme`, httpGet.scheme, ['HTTP', 'HTTPS']);
    checkString(errors, `${path}.httpGet.path`, httpGet.path);
    for (const [header, at] of objectsOf(errors, `${path}.httpGet.httpHeaders`, httpGet.httpHeaders)) {
      if (checkString(errors, `${at}.name`, header.name, undefined, true) && !/^[-A-Za-z0-9]+$/.test(header.name)) {
        errors.invalid(`${at}.name`, header.name, "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')");
      }
      checkString(errors, `${at}.value`, header.value);
    }
  }
  const tcpSocket = objectAt(errors, `${path}.tcpSocket`, handler.tcpSocket);
  if (tcpSocket) checkProbePort(errors, `${path}.tcpSocket.port`, tcpSocket.port);
  const grpc = objectAt(errors, `${path}.grpc`, handler.grpc);
  if (grpc && checkInteger(errors, `${path}.grpc.port`, grpc.port, { required: true })) errors.invalidEach(`${path}.grpc.port`, grpc.port, portNumber(grpc.port));
}

function validateProbe(errors: FieldErrors, path: string, value: unknown, successMustBeOne: boolean): void {
  const probe = objectAt(errors, path, value);
  if (probe === undefined) return;
  validateHandler(errors, path, probe);
  for (const field of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'] as const) {
    checkInteger(errors, `${path}.${field}`, probe[field], { min: field === 'terminationGracePeriodSeconds' ? 1 : 0 });
  }
  if (successMustBeOne && isSet(probe.successThreshold) && probe.successThreshold !== 1) errors.invalid(`${path}.successThreshold`, probe.successThreshold, 'must be 1');
}

function validateEnv(errors: FieldErrors, path: string, env: unknown): void {
  for (const [variable, at] of objectsOf(errors, path, env)) {
    checkString(errors, `${at}.name`, variable.name, envVarName, true);
    checkString(errors, `${at}.value`, variable.value);
    const from = objectAt(errors, `${at}.valueFrom`, variable.valueFrom);
    if (from === undefined) continue;
    const sources = setKeys(from, ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef']);
    if (sources.length === 0) errors.invalid(`${at}.valueFrom`, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`');
    else if (typeof variable.value === 'string' && variable.value !== '') errors.invalid(`${at}.valueFrom`, '', 'may not be specified when `value` is not empty');
    else if (sources.length > 1) errors.invalid(`${at}.valueFrom`, '', 'may not have more than one field specified at a time');
    for (const ref of ['configMapKeyRef', 'secretKeyRef'] as const) {
      const selector = objectAt(errors, `${at}.valueFrom.${ref}`, from[ref]);
      if (selector === undefined) continue;
      checkString(errors, `${at}.valueFrom.${ref}.key`, selector.key, configMapKey, true);
      checkString(errors, `${at}.valueFrom.${ref}.name`, selector.name, dns1123Subdomain, ref === 'secretKeyRef');
    }
    const fieldRef = objectAt(errors, `${at}.valueFrom.fieldRef`, from.fieldRef);
    if (fieldRef) checkString(errors, `${at}.valueFrom.fieldRef.fieldPath`, fieldRef.fieldPath, undefined, true);
    const resourceRef = objectAt(errors, `${at}.valueFrom.resourceFieldRef`, from.resourceFieldRef);
    if (resourceRef) checkString(errors, `${at}.valueFrom.resourceFieldRef.resource`, resourceRef.resource, undefined, true);
  }
}

function validateEnvFrom(errors: FieldErrors, path: string, envFrom: unknown): void {
  for (const [source, at] of objectsOf(errors, path, envFrom)) {
    checkString(errors, `${at}.prefix`, source.prefix, envVarName);
    const refs = setKeys(source, ['configMapRef', 'secretRef']);
    if (refs.length === 0) errors.required(at, 'must specify one of: `configMapRef` or `secretRef`');
    else if (refs.length > 1) errors.invalid(at, '', 'may not have more than one field specified at a time');
    for (const ref of refs) {
      const selector = objectAt(errors, `${at}.${ref}`, source[ref]);
      if (selector) checkString(errors, `${at}.${ref}.name`, selector.name, dns1123Subdomain, true);
    }
  }
}

function validateMounts(errors: FieldErrors, path: string, mounts: unknown, volumes: ReadonlySet<string>): void {
  const mountPaths = new Set<string>();
  for (const [mount, at] of objectsOf(errors, path, mounts)) {
    if (checkString(errors, `${at}.name`, mount.name, undefined, true) && !volumes.has(mount.name)) errors.notFound(`${at}.name`, mount.name);
    if (checkString(errors, `${at}.mountPath`, mount.mountPath, undefined, true)) {
      if (mountPaths.has(mount.mountPath)) errors.invalid(`${at}.mountPath`, mount.mountPath, 'must be unique');
      mountPaths.add(mount.mountPath);
    }
    if (checkString(errors, `${at}.subPath`, mount.subPath)) checkRelativePath(errors, `${at}.subPath`, mount.subPath);
    if (checkString(errors, `${at}.subPathExpr`, mount.subPathExpr)) {
      if (isSet(mount.subPath) && mount.subPath !== '') errors.invalid(`${at}.subPathExpr`, mount.subPathExpr, 'subPathExpr and subPath are mutually exclusive');
      checkRelativePath(errors, `${at}.subPathExpr`, mount.subPathExpr);
    }
    checkBoolean(errors, `${at}.readOnly`, mount.readOnly);
    checkEnum(errors, `${at}.mountPropagation`, mount.mountPropagation, ['Bidirectional', 'HostToContainer', 'None']);
  }
}

function validatePorts(errors: FieldErrors, path: string, ports: unknown): void {
  const names = uniqueTracker(errors);
  for (const [port, at] of objectsOf(errors, path, ports)) {
    if (checkString(errors, `${at}.name`, port.name, portName)) names(`${at}.name`, port.name);
    if (port.containerPort === 0) errors.required(`${at}.containerPort`);
    else if (checkInteger(errors, `${at}.containerPort`, port.containerPort, { required: true })) errors.invalidEach(`${at}.containerPort`, port.containerPort, portNumber(port.containerPort));
    if (port.hostPort !== 0 && checkInteger(errors, `${at}.hostPort`, port.hostPort)) errors.invalidEach(`${at}.hostPort`, port.hostPort, portNumber(port.hostPort));
    checkEnum(errors, `${at}.protocol`, port.protocol, protocols);
    checkString(errors, `${at}.hostIP`, port.hostIP, ipAddress);
  }
}

function validateResources(errors: FieldErrors, path: string, value: unknown): void {
  const resources = objectAt(errors, path, value);
  if (resources === undefined) return;
  const limits = checkResourceList(errors, `${path}.limits`, resources.limits);
  const requests = checkResourceList(errors, `${path}.requests`, resources.requests);
  for (const name of [...limits.keys(), ...requests.keys()]) {
    if (qualifiedName(name).length > 0) errors.invalidEach(`${path}.${limits.has(name) ? 'limits' : 'requests'}[${name}]`, name, qualifiedName(name));
  }
  for (const [name, requested] of requests) {
    const limit = limits.get(name);
    if (limit !== undefined && requested > limit) {
      errors.invalid(`${path}.requests`, resources.requests[name], `must be less than or equal to ${name} limit of ${resources.limits[name]}`);
    }
  }
}

function validateSecurityContext(errors: FieldErrors, path: string, value: unknown): void {
  const context = objectAt(errors, path, value);
  if (context === undefined) return;
  for (const field of ['runAsUser', 'runAsGroup', 'fsGroup'] as const) checkInteger(errors, `${path}.${field}`, context[field], { min: 0, max: 2147483647 });
  for (const field of ['privileged', 'runAsNonRoot', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation'] as const) checkBoolean(errors, `${path}.${field}`, context[field]);
  const groups = context.supplementalGroups;
  if (isSet(groups) && !Array.isArray(groups)) errors.wrongType(`${path}.supplementalGroups`, groups, 'array');
  else ((groups ?? []) as unknown[]).forEach((group, i) => checkInteger(errors, `${path}.supplementalGroups[${i}]`, group, { min: 0, max: 2147483647 }));
  const capabilities = objectAt(errors, `${path}.capabilities`, context.capabilities);
  if (capabilities) {
    stringsOf(errors, `${path}.capabilities.add`, capabilities.add);
    stringsOf(errors, `${path}.capabilities.drop`, capabilities.drop);
  }
}

type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';

function validateContainer(errors: FieldErrors, at: string, container: Any, list: ContainerList, volumes: ReadonlySet<string>): void {
  if (list !== 'ephemeralContainers' && (typeof container.image !== 'string' || container.image.trim() === '')) {
    if (isSet(container.image) && typeof container.image !== 'string') errors.wrongType(`${at}.image`, container.image, 'string');
    else errors.required(`${at}.image`);
  }
  stringsOf(errors, `${at}.command`, container.command);
  stringsOf(errors, `${at}.args`, container.args);
  checkString(errors, `${at}.workingDir`, container.workingDir);
  checkEnum(errors, `${at}.imagePullPolicy`, container.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']);
  checkEnum(errors, `${at}.terminationMessagePolicy`, container.terminationMessagePolicy, ['File', 'FallbackToLogsOnError']);
  if (list === 'initContainers') checkEnum(errors, `${at}.restartPolicy`, container.restartPolicy, ['Always']);
  validatePorts(errors, `${at}.ports`, container.ports);
  validateEnv(errors, `${at}.env`, container.env);
  validateEnvFrom(errors, `${at}.envFrom`, container.envFrom);
  validateMounts(errors, `${at}.volumeMounts`, container.volumeMounts, volumes);
  validateResources(errors, `${at}.resources`, container.resources);
  validateSecurityContext(errors, `${at}.securityContext`, container.securityContext);
  validateProbe(errors, `${at}.livenessProbe`, container.livenessProbe, true);
  validateProbe(errors, `${at}.readinessProbe`, container.readinessProbe, false);
  validateProbe(errors, `${at}.startupProbe`, container.startupProbe, true);
  const lifecycle = objectAt(errors, `${at}.lifecycle`, container.lifecycle);
  for (const hook of ['postStart', 'preStop'] as const) {
    const handler = objectAt(errors, `${at}.lifecycle.${hook}`, lifecycle?.[hook]);
    if (handler && !isSet(handler.sleep)) validateHandler(errors, `${at}.lifecycle.${hook}`, handler);
  }
}

function validateTolerations(errors: FieldErrors, path: string, tolerations: unknown): void {
  for (const [toleration, at] of objectsOf(errors, path, tolerations)) {
    checkString(errors, `${at}.key`, toleration.key, qualifiedName);
    if (!isSet(toleration.key) || toleration.key === '') {
      if (toleration.operator !== 'Exists') errors.invalid(`${at}.operator`, toleration.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"');
    }
    checkEnum(errors, `${at}.operator`, toleration.operator, ['Equal', 'Exists']);
    if (toleration.operator === 'Exists' && isSet(toleration.value) && toleration.value !== '') errors.invalid(`${at}.operator`, toleration.value, 'value must be empty when `operator` is \'Exists\'');
    if (toleration.operator !== 'Exists') checkString(errors, `${at}.value`, toleration.value, labelValue);
    checkEnum(errors, `${at}.effect`, toleration.effect, ['NoExecute', 'NoSchedule', 'PreferNoSchedule']);
    if (checkInteger(errors, `${at}.tolerationSeconds`, toleration.tolerationSeconds) && toleration.effect !== 'NoExecute') {
      errors.invalid(`${at}.effect`, toleration.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
  }
}

function validateDns(errors: FieldErrors, path: string, spec: Any): void {
  checkEnum(errors, `${path}.dnsPolicy`, spec.dnsPolicy, ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']);
  const config = objectAt(errors, `${path}.dnsConfig`, spec.dnsConfig);
  if (config === undefined) {
    if (spec.dnsPolicy === 'None') errors.required(`${path}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None');
    return;
  }
  const servers = stringsOf(errors, `${path}.dnsConfig.nameservers`, config.nameservers);
  if (servers.length > 3) errors.invalid(`${path}.dnsConfig.nameservers`, config.nameservers, 'must not have more than 3 nameservers');
  for (const [server, at] of servers) errors.invalidEach(at, server, ipAddress(server));
  if (spec.dnsPolicy === 'None' && servers.length === 0) errors.required(`${path}.dnsConfig.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None');
  const searches = stringsOf(errors, `${path}.dnsConfig.searches`, config.searches);
  if (searches.length > 32) errors.invalid(`${path}.dnsConfig.searches`, config.searches, 'must not have more than 32 search paths');
  for (const [search, at] of searches) {
    const name = search.endsWith('.') ? search.slice(0, -1) : search;
    if (name !== '') errors.invalidEach(at, search, dns1123Subdomain(name));
  }
  for (const [option, at] of objectsOf(errors, `${path}.dnsConfig.options`, config.options)) {
    checkString(errors, `${at}.name`, option.name, undefined, true);
    checkString(errors, `${at}.value`, option.value);
  }
}

/** The spec of a pod or a pod template, at `path` (`spec` or `spec.template.spec`). */
export function validatePodSpec(errors: FieldErrors, spec: unknown, path: string): void {
  const s = objectAt(errors, path, spec);
  if (s === undefined) return errors.required(path);
  const volumes = validateVolumes(errors, `${path}.volumes`, s.volumes);
  const names = uniqueTracker(errors);
  const containers = objectsOf(errors, `${path}.containers`, s.containers);
  if (containers.length === 0 && (!Array.isArray(s.containers) || s.containers.length === 0)) errors.required(`${path}.containers`);
  for (const list of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    const items = list === 'containers' ? containers : objectsOf(errors, `${path}.${list}`, s[list]);
    for (const [container, at] of items) {
      if (checkString(errors, `${at}.name`, container.name, dns1123Label, true)) names(`${at}.name`, container.name);
      validateContainer(errors, at, container, list, volumes);
    }
  }
  checkEnum(errors, `${path}.restartPolicy`, s.restartPolicy, ['Always', 'OnFailure', 'Never']);
  validateDns(errors, path, s);
  for (const [alias, at] of objectsOf(errors, `${path}.hostAliases`, s.hostAliases)) {
    checkString(errors, `${at}.ip`, alias.ip, ipAddress, true);
    for (const [hostname, hat] of stringsOf(errors, `${at}.hostnames`, alias.hostnames)) errors.invalidEach(hat, hostname, dns1123Subdomain(hostname));
  }
  checkString(errors, `${path}.nodeName`, s.nodeName, dns1123Subdomain);
  checkString(errors, `${path}.hostname`, s.hostname, dns1123Label);
  checkString(errors, `${path}.subdomain`, s.subdomain, dns1123Label);
  checkString(errors, `${path}.serviceAccountName`, s.serviceAccountName, dns1123Subdomain);
  checkString(errors, `${path}.priorityClassName`, s.priorityClassName, dns1123Subdomain);
  checkString(errors, `${path}.schedulerName`, s.schedulerName, dns1123Subdomain);
  validateLabels(errors, `${path}.nodeSelector`, s.nodeSelector);
  validateTolerations(errors, `${path}.tolerations`, s.tolerations);
  validateAffinity(errors, `${path}.affinity`, s.affinity);
  validateTopologySpread(errors, `${path}.topologySpreadConstraints`, s.topologySpreadConstraints);
  checkInteger(errors, `${path}.terminationGracePeriodSeconds`, s.terminationGracePeriodSeconds, { min: 0 });
  checkInteger(errors, `${path}.activeDeadlineSeconds`, s.activeDeadlineSeconds, { min: 1, max: 2147483647 });
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace', 'automountServiceAccountToken', 'enableServiceLinks'] as const) checkBoolean(errors, `${path}.${field}`, s[field]);
  validateSecurityContext(errors, `${path}.securityContext`, s.securityContext);
  for (const [secret, at] of objectsOf(errors, `${path}.imagePullSecrets`, s.imagePullSecrets)) checkString(errors, `${at}.name`, secret.name, dns1123Subdomain);
  for (const [gate, at] of objectsOf(errors, `${path}.readinessGates`, s.readinessGates)) checkString(errors, `${at}.conditionType`, gate.conditionType, qualifiedName, true);
}

/** The spec with the fields that may change after creation blanked out. */
function withoutMutableFields(spec: Any): Any {
  const blankImage = (c: Any) => ({ ...c, image: '' });
  return {
    ...spec,
    containers: ((spec.containers ?? []) as Any[]).map(blankImage),
    initContainers: ((spec.initContainers ?? []) as Any[]).map(blankImage),
    activeDeadlineSeconds: 0,
    tolerations: [],
    terminationGracePeriodSeconds: 0,
  };
}

/** The pod fields a client may change after creation (upstream's ValidatePodUpdate). */
export function validatePodUpdate(errors: FieldErrors, spec: Any, old: Any): void {
  // Tolerations may be added, never taken away or changed (but for their tolerationSeconds).
  const sameToleration = (a: Any, b: Any) => sameJson({ ...a, tolerationSeconds: 0 }, { ...b, tolerationSeconds: 0 });
  const current = Array.isArray(spec.tolerations) ? (spec.tolerations as Any[]) : [];
  const keptTolerations = ((old.tolerations ?? []) as Any[]).every((t) => current.some((n) => sameToleration(n, t)));
  const unchanged = sameJson(withoutMutableFields(old), withoutMutableFields(spec));
  // Binding sets nodeName once; an update that only adds it is the scheduler's binding.
  const onlyBound = old.nodeName === undefined && sameJson(withoutMutableFields({ ...spec, nodeName: undefined }), withoutMutableFields(old));
  if (!keptTolerations || !(unchanged || onlyBound)) {
    errors.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)');
  }
}

/**
 * A pod template inside a workload, at `path` (`spec.template`): its labels and annotations, its
 * spec, and the restart policies the workload's controller can honour.
 */
export function validatePodTemplate(errors: FieldErrors, path: string, value: unknown, restartPolicies: readonly string[]): void {
  const template = objectAt(errors, path, value);
  if (template === undefined) return errors.required(path);
  const metadata = objectAt(errors, `${path}.metadata`, template.metadata);
  validateLabels(errors, `${path}.metadata.labels`, metadata?.labels);
  validateAnnotations(errors, `${path}.metadata.annotations`, metadata?.annotations);
  validatePodSpec(errors, template.spec, `${path}.spec`);
  const policy = isObject(template.spec) ? template.spec.restartPolicy : undefined;
  if (isSet(policy) && !restartPolicies.includes(policy)) errors.notSupported(`${path}.spec.restartPolicy`, policy, restartPolicies);
}
