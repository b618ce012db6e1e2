/**
 * Containers of a pod (upstream's validateContainers): ports, env, mounts, probes, resources and
 * security context. Their names and values go to the container runtime on the node.
 */
import { envFieldPaths, validateFieldSelector } from './downward-api.ts';
import type { FieldErrors } from './field-errors.ts';
import {
  checkBoolean,
  checkEnum,
  checkInteger,
  checkString,
  isSet,
  objectAt,
  objectsOf,
  setKeys,
  stringsOf,
  uniqueTracker,
  type Any,
} from './fields.ts';
import {
  configMapKey,
  dns1123Subdomain,
  envVarName,
  ipAddress,
  portName,
  portNumber,
  qualifiedName,
} from '../../kube/name-formats.ts';
import { checkResourceList } from './quantities.ts';
import { protocols } from './service.ts';
import { checkRelativePath } from './volumes.ts';

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
  if (exec && stringsOf(errors, `${path}.exec.command`, exec.command).length === 0)
    errors.required(`${path}.exec.command`);
  const httpGet = objectAt(errors, `${path}.httpGet`, handler.httpGet);
  if (httpGet) {
    checkProbePort(errors, `${path}.httpGet.port`, httpGet.port);
    checkEnum(errors, `${path}.httpGet.scheme`, httpGet.scheme, ['HTTP', 'HTTPS']);
    checkString(errors, `${path}.httpGet.path`, httpGet.path);
    for (const [header, at] of objectsOf(errors, `${path}.httpGet.httpHeaders`, httpGet.httpHeaders)) {
      if (checkString(errors, `${at}.name`, header.name, undefined, true) && !/^[-A-Za-z0-9]+$/.test(header.name)) {
        errors.invalid(
          `${at}.name`,
          header.name,
          "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')",
        );
      }
      checkString(errors, `${at}.value`, header.value);
    }
  }
  const tcpSocket = objectAt(errors, `${path}.tcpSocket`, handler.tcpSocket);
  if (tcpSocket) checkProbePort(errors, `${path}.tcpSocket.port`, tcpSocket.port);
  const grpc = objectAt(errors, `${path}.grpc`, handler.grpc);
  if (grpc && checkInteger(errors, `${path}.grpc.port`, grpc.port, { required: true }))
    errors.invalidEach(`${path}.grpc.port`, grpc.port, portNumber(grpc.port));
}

function validateProbe(errors: FieldErrors, path: string, value: unknown, successMustBeOne: boolean): void {
  const probe = objectAt(errors, path, value);
  if (probe === undefined) return;
  validateHandler(errors, path, probe);
  for (const field of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
    'terminationGracePeriodSeconds',
  ] as const) {
    checkInteger(errors, `${path}.${field}`, probe[field], { min: field === 'terminationGracePeriodSeconds' ? 1 : 0 });
  }
  if (successMustBeOne && isSet(probe.successThreshold) && probe.successThreshold !== 1)
    errors.invalid(`${path}.successThreshold`, probe.successThreshold, 'must be 1');
}

function validateEnv(errors: FieldErrors, path: string, env: unknown): void {
  for (const [variable, at] of objectsOf(errors, path, env)) {
    checkString(errors, `${at}.name`, variable.name, envVarName, true);
    checkString(errors, `${at}.value`, variable.value);
    const from = objectAt(errors, `${at}.valueFrom`, variable.valueFrom);
    if (from === undefined) continue;
    const sources = setKeys(from, ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef']);
    if (sources.length === 0)
      errors.invalid(
        `${at}.valueFrom`,
        '',
        'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
      );
    else if (typeof variable.value === 'string' && variable.value !== '')
      errors.invalid(`${at}.valueFrom`, '', 'may not be specified when `value` is not empty');
    else if (sources.length > 1)
      errors.invalid(`${at}.valueFrom`, '', 'may not have more than one field specified at a time');
    for (const ref of ['configMapKeyRef', 'secretKeyRef'] as const) {
      const selector = objectAt(errors, `${at}.valueFrom.${ref}`, from[ref]);
      if (selector === undefined) continue;
      checkString(errors, `${at}.valueFrom.${ref}.key`, selector.key, configMapKey, true);
      checkString(errors, `${at}.valueFrom.${ref}.name`, selector.name, dns1123Subdomain, ref === 'secretKeyRef');
    }
    const fieldRef = objectAt(errors, `${at}.valueFrom.fieldRef`, from.fieldRef);
    if (fieldRef) validateFieldSelector(errors, `${at}.valueFrom.fieldRef`, fieldRef, envFieldPaths);
    const resourceRef = objectAt(errors, `${at}.valueFrom.resourceFieldRef`, from.resourceFieldRef);
    if (resourceRef)
      checkString(errors, `${at}.valueFrom.resourceFieldRef.resource`, resourceRef.resource, undefined, true);
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
    if (checkString(errors, `${at}.name`, mount.name, undefined, true) && !volumes.has(mount.name))
      errors.notFound(`${at}.name`, mount.name);
    if (checkString(errors, `${at}.mountPath`, mount.mountPath, undefined, true)) {
      if (mountPaths.has(mount.mountPath)) errors.invalid(`${at}.mountPath`, mount.mountPath, 'must be unique');
      mountPaths.add(mount.mountPath);
    }
    // Upstream reports the path checks on the list's path, without the index (its own quirk, kept
    // so that clients see the same field).
    if (checkString(errors, `${at}.subPath`, mount.subPath))
      checkRelativePath(errors, `${path}.subPath`, mount.subPath);
    if (checkString(errors, `${at}.subPathExpr`, mount.subPathExpr)) {
      if (isSet(mount.subPath) && mount.subPath !== '')
        errors.invalid(`${at}.subPathExpr`, mount.subPathExpr, 'subPathExpr and subPath are mutually exclusive');
      checkRelativePath(errors, `${path}.subPathExpr`, mount.subPathExpr);
    }
    checkBoolean(errors, `${at}.readOnly`, mount.readOnly);
    checkEnum(errors, `${path}.mountPropagation`, mount.mountPropagation, ['Bidirectional', 'HostToContainer', 'None']);
  }
}

function validatePorts(errors: FieldErrors, path: string, ports: unknown): void {
  const names = uniqueTracker(errors);
  for (const [port, at] of objectsOf(errors, path, ports)) {
    if (checkString(errors, `${at}.name`, port.name, portName)) names(`${at}.name`, port.name);
    if (port.containerPort === 0) errors.required(`${at}.containerPort`);
    else if (checkInteger(errors, `${at}.containerPort`, port.containerPort, { required: true }))
      errors.invalidEach(`${at}.containerPort`, port.containerPort, portNumber(port.containerPort));
    if (port.hostPort !== 0 && checkInteger(errors, `${at}.hostPort`, port.hostPort))
      errors.invalidEach(`${at}.hostPort`, port.hostPort, portNumber(port.hostPort));
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
    if (qualifiedName(name).length > 0)
      errors.invalidEach(`${path}.${limits.has(name) ? 'limits' : 'requests'}[${name}]`, name, qualifiedName(name));
  }
  for (const [name, requested] of requests) {
    const limit = limits.get(name);
    if (limit !== undefined && requested > limit) {
      errors.invalid(
        `${path}.requests`,
        resources.requests[name],
        `must be less than or equal to ${name} limit of ${resources.limits[name]}`,
      );
    }
  }
}

export function validateSecurityContext(errors: FieldErrors, path: string, value: unknown): void {
  const context = objectAt(errors, path, value);
  if (context === undefined) return;
  for (const field of ['runAsUser', 'runAsGroup', 'fsGroup'] as const)
    checkInteger(errors, `${path}.${field}`, context[field], { min: 0, max: 2147483647 });
  for (const field of ['privileged', 'runAsNonRoot', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation'] as const)
    checkBoolean(errors, `${path}.${field}`, context[field]);
  const groups = context.supplementalGroups;
  if (isSet(groups) && !Array.isArray(groups)) errors.wrongType(`${path}.supplementalGroups`, groups, 'array');
  else
    ((groups ?? []) as unknown[]).forEach((group, i) =>
      checkInteger(errors, `${path}.supplementalGroups[${i}]`, group, { min: 0, max: 2147483647 }),
    );
  const capabilities = objectAt(errors, `${path}.capabilities`, context.capabilities);
  if (capabilities) {
    stringsOf(errors, `${path}.capabilities.add`, capabilities.add);
    stringsOf(errors, `${path}.capabilities.drop`, capabilities.drop);
  }
}

type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';

export function validateContainer(
  errors: FieldErrors,
  at: string,
  container: Any,
  list: ContainerList,
  volumes: ReadonlySet<string>,
): void {
  if (typeof container.image !== 'string' || container.image.trim() === '') {
    if (isSet(container.image) && typeof container.image !== 'string')
      errors.wrongType(`${at}.image`, container.image, 'string');
    else errors.required(`${at}.image`);
  }
  stringsOf(errors, `${at}.command`, container.command);
  stringsOf(errors, `${at}.args`, container.args);
  checkString(errors, `${at}.workingDir`, container.workingDir);
  checkEnum(errors, `${at}.imagePullPolicy`, container.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']);
  checkEnum(errors, `${at}.terminationMessagePolicy`, container.terminationMessagePolicy, [
    'File',
    'FallbackToLogsOnError',
  ]);
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
