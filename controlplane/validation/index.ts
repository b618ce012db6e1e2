/**
 * Validation of every object the API server stores, as upstream validates it: one table from
 * resource to its rules (per API group, in the files beside this one), the metadata rules for all,
 * and the update rules that compare with the stored object. Collects every problem, then refuses
 * with one 422 Invalid naming each field.
 */
import { FieldErrors } from './field-errors.ts';
import { isObject, type Any } from './fields.ts';
import { validateObjectMeta, type NameRule } from './metadata.ts';
import { validatePodSpec, validatePodUpdate } from './pod.ts';
import { validateEphemeralContainersUpdate, validateNoEphemeralContainersOnCreate } from './ephemeral-containers.ts';
import { validateServiceSpec } from './service.ts';
import { validateLoadBalancerFields, validateLoadBalancerFieldsUpdate } from './service-load-balancer.ts';
import {
  validateConfigMap,
  validateDataUpdate,
  validateEndpoints,
  validateEvent,
  validateLimitRange,
  validateNamespace,
  validateNode,
  validateNodeUpdate,
  validateResourceQuota,
  validateSecret,
  validateServiceAccount,
} from './core.ts';
import { validateEndpointSlice } from './discovery.ts';
import {
  validateAppsUpdate,
  validateControllerRevision,
  validateDaemonSet,
  validateDeployment,
  validateReplicaSet,
  validateStatefulSet,
} from './apps.ts';
import { validateCronJob, validateJob, validateJobUpdate } from './batch.ts';
import { validateBinding, validateBindingUpdate, validateRole } from './rbac.ts';
import { validateLease } from './coordination.ts';
import { validateNetworkPolicy } from './networking.ts';
import { validateIngress, validateIngressClass, validateIngressClassUpdate } from './ingress.ts';
import { validatePodDisruptionBudget } from './policy.ts';
import { validateHorizontalPodAutoscaler } from './autoscaling.ts';
import { validatePriorityClass, validatePriorityClassUpdate } from './priority-class.ts';
import { validateReplicationController } from './replication-controller.ts';
import { validateCsr } from './certificates.ts';
import { statusErrors } from './status.ts';
import {
  validateMutatingWebhookConfiguration,
  validateValidatingAdmissionPolicy,
  validateValidatingAdmissionPolicyBinding,
  validateValidatingWebhookConfiguration,
} from './admissionregistration.ts';
import { validateApiService } from './apiregistration.ts';
import { validateCrd } from '../apiextensions/crd-validation.ts';
import {
  validateCsiNode,
  validatePersistentVolume,
  validatePersistentVolumeClaim,
  validatePersistentVolumeClaimUpdate,
  validatePersistentVolumeUpdate,
  validateStorageClass,
  validateStorageClassUpdate,
  validateVolumeAttachment,
} from './storage.ts';

export { FieldErrors } from './field-errors.ts';

/** What validation needs to know about the resource being written. */
export interface ValidatedResource {
  readonly group: string;
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

interface Rules {
  /** The name format of the kind (DNS-1123 subdomain unless said otherwise). */
  readonly name?: NameRule;
  readonly create?: (errors: FieldErrors, o: Any, old: Any | undefined) => void;
  readonly update?: (errors: FieldErrors, o: Any, old: Any) => void;
}

const rules: Readonly<Record<string, Rules>> = {
  pods: {
    create: (e, o, old) => {
      validatePodSpec(e, o.spec, 'spec');
      if (old === undefined) validateNoEphemeralContainersOnCreate(e, o.spec);
    },
    update: (e, o, old) => validatePodUpdate(e, o.spec ?? {}, old.spec ?? {}),
  },
  services: {
    name: 'label1035',
    create: (e, o) => {
      validateServiceSpec(e, o.spec);
      validateLoadBalancerFields(e, o.spec);
    },
    update: (e, o, old) => validateLoadBalancerFieldsUpdate(e, o.spec, old.spec),
  },
  endpoints: { create: validateEndpoints },
  configmaps: { create: validateConfigMap, update: (e, o, old) => validateDataUpdate(e, 'configmaps', o, old) },
  secrets: { create: validateSecret, update: (e, o, old) => validateDataUpdate(e, 'secrets', o, old) },
  nodes: { create: validateNode, update: validateNodeUpdate },
  namespaces: { name: 'label', create: validateNamespace },
  serviceaccounts: { create: validateServiceAccount },
  limitranges: { create: validateLimitRange },
  resourcequotas: { create: validateResourceQuota },
  // Event names carry the involved object's name and a suffix; upstream is lenient about them.
  events: { name: 'path', create: validateEvent },
  replicationcontrollers: { create: validateReplicationController },
  persistentvolumes: { create: validatePersistentVolume, update: validatePersistentVolumeUpdate },
  persistentvolumeclaims: { create: validatePersistentVolumeClaim, update: validatePersistentVolumeClaimUpdate },
  'storage.k8s.io/storageclasses': { create: validateStorageClass, update: validateStorageClassUpdate },
  'storage.k8s.io/csidrivers': {},
  'storage.k8s.io/csinodes': { create: validateCsiNode },
  'storage.k8s.io/volumeattachments': { create: validateVolumeAttachment },
  'discovery.k8s.io/endpointslices': { create: (e, o, old) => validateEndpointSlice(e, o, old) },
  'apps/deployments': {
    create: validateDeployment,
    update: (e, o, old) => validateAppsUpdate(e, 'deployments', o, old),
  },
  'apps/replicasets': {
    create: validateReplicaSet,
    update: (e, o, old) => validateAppsUpdate(e, 'replicasets', o, old),
  },
  'apps/daemonsets': { create: validateDaemonSet, update: (e, o, old) => validateAppsUpdate(e, 'daemonsets', o, old) },
  'apps/statefulsets': {
    create: validateStatefulSet,
    update: (e, o, old) => validateAppsUpdate(e, 'statefulsets', o, old),
  },
  'apps/controllerrevisions': { create: validateControllerRevision },
  'batch/jobs': { create: validateJob, update: validateJobUpdate },
  'batch/cronjobs': { create: validateCronJob },
  'rbac.authorization.k8s.io/roles': { name: 'path', create: (e, o) => validateRole(e, o, true) },
  'rbac.authorization.k8s.io/clusterroles': { name: 'path', create: (e, o) => validateRole(e, o, false) },
  'rbac.authorization.k8s.io/rolebindings': {
    name: 'path',
    create: (e, o) => validateBinding(e, o, true),
    update: validateBindingUpdate,
  },
  'rbac.authorization.k8s.io/clusterrolebindings': {
    name: 'path',
    create: (e, o) => validateBinding(e, o, false),
    update: validateBindingUpdate,
  },
  'coordination.k8s.io/leases': { create: validateLease },
  'networking.k8s.io/networkpolicies': { create: validateNetworkPolicy },
  'networking.k8s.io/ingresses': { create: validateIngress },
  'networking.k8s.io/ingressclasses': { create: validateIngressClass, update: validateIngressClassUpdate },
  'policy/poddisruptionbudgets': { create: validatePodDisruptionBudget },
  'autoscaling/horizontalpodautoscalers': { create: validateHorizontalPodAutoscaler },
  'scheduling.k8s.io/priorityclasses': { create: validatePriorityClass, update: validatePriorityClassUpdate },
  // Upstream does not care what certificate requests are called.
  'certificates.k8s.io/certificatesigningrequests': { name: 'path', create: validateCsr },
  'events.k8s.io/events': { name: 'path' },
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': { create: validateMutatingWebhookConfiguration },
  'admissionregistration.k8s.io/validatingwebhookconfigurations': { create: validateValidatingWebhookConfiguration },
  'admissionregistration.k8s.io/validatingadmissionpolicies': { create: validateValidatingAdmissionPolicy },
  'admissionregistration.k8s.io/validatingadmissionpolicybindings': {
    create: validateValidatingAdmissionPolicyBinding,
  },
  // `<version>.<group>`, checked against the spec by the kind's own rules
  'apiregistration.k8s.io/apiservices': { name: 'path', create: validateApiService },
  'apiextensions.k8s.io/customresourcedefinitions': { create: validateCrd },
};

const keyOf = (resource: { group: string; resource: string }): string =>
  resource.group === '' ? resource.resource : `${resource.group}/${resource.resource}`;

function rulesFor(resource: ValidatedResource): Rules {
  return rules[keyOf(resource)] ?? {};
}

/** Whether the kind has rules of its own here (every stored built-in kind should). */
export function hasKindRules(resource: { group: string; resource: string }): boolean {
  return keyOf(resource) in rules;
}

/** Every problem of the object (and of the change, when `old` is the stored object). */
export function validationErrors(resource: ValidatedResource, object: Any, old?: Any): FieldErrors {
  const errors = new FieldErrors();
  const kindRules = rulesFor(resource);
  if (!isObject(object.metadata)) errors.wrongType('metadata', object.metadata, 'object');
  else validateObjectMeta(errors, object.metadata, kindRules.name ?? 'subdomain', resource.namespaced);
  kindRules.create?.(errors, object, old);
  if (old !== undefined) kindRules.update?.(errors, object, old);
  return errors;
}

/** Throws 422 Invalid, in upstream's words, when the object may not be stored. */
export function validateObject(resource: ValidatedResource, object: Any, old?: Any): void {
  const name = isObject(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : '';
  validationErrors(resource, object, old).throwIfAny(resource.kind, resource.group, name);
}

/**
 * Throws 422 Invalid when a write through pods/<name>/ephemeralcontainers may not be stored: the
 * pod as a whole must still be valid, and the ephemeral containers already there must stay.
 */
export function validateEphemeralContainersWrite(resource: ValidatedResource, pod: Any, old: Any): void {
  const errors = new FieldErrors();
  if (isObject(pod.metadata)) validateObjectMeta(errors, pod.metadata, 'subdomain', resource.namespaced);
  validatePodSpec(errors, pod.spec, 'spec');
  validateEphemeralContainersUpdate(errors, pod, old);
  errors.throwIfAny(resource.kind, resource.group, typeof pod.metadata?.name === 'string' ? pod.metadata.name : '');
}

/** Throws 422 Invalid when a write through the status subresource carries a malformed status. */
export function validateStatus(resource: ValidatedResource, object: Any): void {
  const name = isObject(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : '';
  statusErrors(resource, object).throwIfAny(resource.kind, resource.group, name);
}
