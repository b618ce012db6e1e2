/**
 * Field numbers of the Kubernetes types that kubectl (1.32 and later) sends as protobuf from its
 * typed generators (`create namespace|configmap|secret|deployment|service|job|cronjob|role|...`,
 * `auth can-i`, `auth whoami`). Only the fields those commands can set are listed; the decoder
 * skips anything else. Field kinds:
 *   string, bytes (base64 in JSON), int, bool, time (metav1.Time), quantity, intOrString,
 *   map:string | map:bytes | map:quantity (proto map entries), or the name of another message.
 * A third element 'repeated' marks lists; 'keep' keeps a zero value (a pointer field whose zero
 * means something, like replicas: 0).
 */
export type FieldSpec = readonly [name: string, kind: string, flag?: 'repeated' | 'keep'];
export type MessageSchema = Readonly<Record<number, FieldSpec>>;

const objectMessage = (spec: string, status?: string): MessageSchema => {
  const schema: Record<number, FieldSpec> = { 1: ['metadata', 'ObjectMeta'], 2: ['spec', spec] };
  if (status) schema[3] = ['status', status];
  return schema;
};

export const messages: Readonly<Record<string, MessageSchema>> = {
  Unknown: { 1: ['typeMeta', 'TypeMeta'], 2: ['raw', 'bytes'], 3: ['contentEncoding', 'string'], 4: ['contentType', 'string'] },
  TypeMeta: { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] },
  Empty: {},
  ObjectMeta: {
    1: ['name', 'string'],
    2: ['generateName', 'string'],
    3: ['namespace', 'string'],
    5: ['uid', 'string'],
    6: ['resourceVersion', 'string'],
    8: ['creationTimestamp', 'time'],
    11: ['labels', 'map:string'],
    12: ['annotations', 'map:string'],
    13: ['ownerReferences', 'OwnerReference', 'repeated'],
    14: ['finalizers', 'string', 'repeated'],
  },
  OwnerReference: { 1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['controller', 'bool', 'keep'], 7: ['blockOwnerDeletion', 'bool', 'keep'] },
  LabelSelector: { 1: ['matchLabels', 'map:string'], 2: ['matchExpressions', 'LabelSelectorRequirement', 'repeated'] },
  LabelSelectorRequirement: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'string', 'repeated'] },
  LocalObjectReference: { 1: ['name', 'string'] },
  ObjectReference: { 1: ['kind', 'string'], 2: ['namespace', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'] },

  // core/v1
  Namespace: objectMessage('NamespaceSpec', 'Empty'),
  NamespaceSpec: { 1: ['finalizers', 'string', 'repeated'] },
  ConfigMap: { 1: ['metadata', 'ObjectMeta'], 2: ['data', 'map:string'], 3: ['binaryData', 'map:bytes'], 4: ['immutable', 'bool', 'keep'] },
  Secret: { 1: ['metadata', 'ObjectMeta'], 2: ['data', 'map:bytes'], 3: ['type', 'string'], 4: ['stringData', 'map:string'], 5: ['immutable', 'bool', 'keep'] },
  ServiceAccount: { 1: ['metadata', 'ObjectMeta'], 2: ['secrets', 'ObjectReference', 'repeated'], 3: ['imagePullSecrets', 'LocalObjectReference', 'repeated'], 4: ['automountServiceAccountToken', 'bool', 'keep'] },
  Service: objectMessage('ServiceSpec', 'Empty'),
  ServiceSpec: {
    1: ['ports', 'ServicePort', 'repeated'],
    2: ['selector', 'map:string'],
    3: ['clusterIP', 'string'],
    4: ['type', 'string'],
    5: ['externalIPs', 'string', 'repeated'],
    7: ['sessionAffinity', 'string'],
    8: ['loadBalancerIP', 'string'],
    10: ['externalName', 'string'],
    11: ['externalTrafficPolicy', 'string'],
    18: ['clusterIPs', 'string', 'repeated'],
  },
  ServicePort: { 1: ['name', 'string'], 2: ['protocol', 'string'], 3: ['port', 'int'], 4: ['targetPort', 'intOrString'], 5: ['nodePort', 'int'], 6: ['appProtocol', 'string'] },
  PodTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'PodSpec'] },
  PodSpec: {
    1: ['volumes', 'Volume', 'repeated'],
    2: ['containers', 'Container', 'repeated'],
    3: ['restartPolicy', 'string'],
    4: ['terminationGracePeriodSeconds', 'int', 'keep'],
    5: ['activeDeadlineSeconds', 'int', 'keep'],
    6: ['dnsPolicy', 'string'],
    7: ['nodeSelector', 'map:string'],
    8: ['serviceAccountName', 'string'],
    10: ['nodeName', 'string'],
    11: ['hostNetwork', 'bool'],
    15: ['imagePullSecrets', 'LocalObjectReference', 'repeated'],
    16: ['hostname', 'string'],
    17: ['subdomain', 'string'],
    19: ['schedulerName', 'string'],
    20: ['initContainers', 'Container', 'repeated'],
    24: ['priorityClassName', 'string'],
  },
  Volume: { 1: ['name', 'string'] },
  Container: {
    1: ['name', 'string'],
    2: ['image', 'string'],
    3: ['command', 'string', 'repeated'],
    4: ['args', 'string', 'repeated'],
    5: ['workingDir', 'string'],
    6: ['ports', 'ContainerPort', 'repeated'],
    7: ['env', 'EnvVar', 'repeated'],
    8: ['resources', 'ResourceRequirements'],
    13: ['terminationMessagePath', 'string'],
    14: ['imagePullPolicy', 'string'],
    16: ['stdin', 'bool'],
    17: ['stdinOnce', 'bool'],
    18: ['tty', 'bool'],
    20: ['terminationMessagePolicy', 'string'],
  },
  ContainerPort: { 1: ['name', 'string'], 2: ['hostPort', 'int'], 3: ['containerPort', 'int'], 4: ['protocol', 'string'], 5: ['hostIP', 'string'] },
  EnvVar: { 1: ['name', 'string'], 2: ['value', 'string'] },
  ResourceRequirements: { 1: ['limits', 'map:quantity'], 2: ['requests', 'map:quantity'] },

  // apps/v1
  Deployment: objectMessage('DeploymentSpec', 'Empty'),
  DeploymentSpec: {
    1: ['replicas', 'int', 'keep'],
    2: ['selector', 'LabelSelector'],
    3: ['template', 'PodTemplateSpec'],
    4: ['strategy', 'DeploymentStrategy'],
    5: ['minReadySeconds', 'int'],
    6: ['revisionHistoryLimit', 'int', 'keep'],
    7: ['paused', 'bool'],
    9: ['progressDeadlineSeconds', 'int', 'keep'],
  },
  DeploymentStrategy: { 1: ['type', 'string'] },

  // batch/v1
  Job: objectMessage('JobSpec', 'Empty'),
  JobSpec: {
    1: ['parallelism', 'int', 'keep'],
    2: ['completions', 'int', 'keep'],
    3: ['activeDeadlineSeconds', 'int', 'keep'],
    4: ['selector', 'LabelSelector'],
    5: ['manualSelector', 'bool', 'keep'],
    6: ['template', 'PodTemplateSpec'],
    7: ['backoffLimit', 'int', 'keep'],
    8: ['ttlSecondsAfterFinished', 'int', 'keep'],
    10: ['suspend', 'bool', 'keep'],
  },
  CronJob: objectMessage('CronJobSpec', 'Empty'),
  CronJobSpec: {
    1: ['schedule', 'string'],
    2: ['startingDeadlineSeconds', 'int', 'keep'],
    3: ['concurrencyPolicy', 'string'],
    4: ['suspend', 'bool', 'keep'],
    5: ['jobTemplate', 'JobTemplateSpec'],
    6: ['successfulJobsHistoryLimit', 'int', 'keep'],
    7: ['failedJobsHistoryLimit', 'int', 'keep'],
    8: ['timeZone', 'string'],
  },
  JobTemplateSpec: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'JobSpec'] },

  // certificates.k8s.io/v1 (kubectl certificate approve|deny sends the whole object back)
  CertificateSigningRequest: objectMessage('CertificateSigningRequestSpec', 'CertificateSigningRequestStatus'),
  CertificateSigningRequestSpec: {
    1: ['request', 'bytes'],
    2: ['username', 'string'],
    3: ['uid', 'string'],
    4: ['groups', 'string', 'repeated'],
    6: ['usages', 'string', 'repeated'],
    7: ['signerName', 'string'],
    8: ['expirationSeconds', 'int', 'keep'],
  },
  CertificateSigningRequestStatus: { 1: ['conditions', 'CertificateSigningRequestCondition', 'repeated'], 2: ['certificate', 'bytes'] },
  CertificateSigningRequestCondition: {
    1: ['type', 'string'],
    2: ['reason', 'string'],
    3: ['message', 'string'],
    4: ['lastUpdateTime', 'time'],
    5: ['lastTransitionTime', 'time'],
    6: ['status', 'string'],
  },

  // rbac.authorization.k8s.io/v1
  Role: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', 'PolicyRule', 'repeated'] },
  ClusterRole: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', 'PolicyRule', 'repeated'] },
  PolicyRule: { 1: ['verbs', 'string', 'repeated'], 2: ['apiGroups', 'string', 'repeated'], 3: ['resources', 'string', 'repeated'], 4: ['resourceNames', 'string', 'repeated'], 5: ['nonResourceURLs', 'string', 'repeated'] },
  RoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', 'Subject', 'repeated'], 3: ['roleRef', 'RoleRef'] },
  ClusterRoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', 'Subject', 'repeated'], 3: ['roleRef', 'RoleRef'] },
  Subject: { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] },
  RoleRef: { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] },

  // authorization.k8s.io/v1 and authentication.k8s.io/v1
  SelfSubjectAccessReview: objectMessage('SelfSubjectAccessReviewSpec', 'Empty'),
  SelfSubjectAccessReviewSpec: { 1: ['resourceAttributes', 'ResourceAttributes'], 2: ['nonResourceAttributes', 'NonResourceAttributes'] },
  ResourceAttributes: { 1: ['namespace', 'string'], 2: ['verb', 'string'], 3: ['group', 'string'], 4: ['version', 'string'], 5: ['resource', 'string'], 6: ['subresource', 'string'], 7: ['name', 'string'] },
  NonResourceAttributes: { 1: ['path', 'string'], 2: ['verb', 'string'] },
  SelfSubjectRulesReview: objectMessage('SelfSubjectRulesReviewSpec', 'Empty'),
  SelfSubjectRulesReviewSpec: { 1: ['namespace', 'string'] },
  SelfSubjectReview: { 1: ['metadata', 'ObjectMeta'] },
  TokenRequest: objectMessage('TokenRequestSpec', 'Empty'),
  TokenRequestSpec: { 1: ['audiences', 'string', 'repeated'], 3: ['boundObjectRef', 'BoundObjectReference'], 4: ['expirationSeconds', 'int', 'keep'] },
  BoundObjectReference: { 1: ['kind', 'string'], 2: ['apiVersion', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] },
};

/** Which message a top-level object of this kind is. */
export function messageForKind(kind: string): string | undefined {
  return kind in messages && /^[A-Z]/.test(kind) && !['Unknown', 'TypeMeta', 'Empty', 'ObjectMeta'].includes(kind) ? kind : undefined;
}
