/**
 * JSON shape checks before defaulting: the fields that defaulting and validation read must have
 * the right JSON types, or the request is refused with 400 and the field's path (as upstream's
 * decoder does), instead of code tripping over a string where a list belongs.
 */
import { ApiError } from '../../kube/errors.ts';
import type { StatusCause } from '../../kube/types.ts';
import { illegalBase64Message, illegalBase64Offset } from './base64-bytes.ts';

export type Shape =
  | 'string'
  /** int32, as almost every integer of the API (replicas, ports, probe timings, modes) */
  | 'integer'
  /** int64: durations in seconds and metadata.generation */
  | 'int64'
  /** a Go []byte: base64 in JSON */
  | 'bytes'
  | 'number'
  | 'boolean'
  | 'any'
  | 'intOrString'
  | { readonly map: Shape }
  | { readonly list: Shape }
  | { readonly fields: Readonly<Record<string, Shape>> };

const str = 'string' as const;
const int = 'integer' as const;
const int64 = 'int64' as const;
const bool = 'boolean' as const;
const strMap = { map: str } as const;
const bytesMap = { map: 'bytes' } as const;
const strList = { list: str } as const;
const obj = (fields: Record<string, Shape>): Shape => ({ fields });

const ownerReference = obj({
  apiVersion: str,
  kind: str,
  name: str,
  uid: str,
  controller: bool,
  blockOwnerDeletion: bool,
});
export const objectMeta = obj({
  name: str,
  generateName: str,
  namespace: str,
  uid: str,
  resourceVersion: str,
  generation: int64,
  creationTimestamp: 'any',
  deletionTimestamp: 'any',
  deletionGracePeriodSeconds: int64,
  labels: strMap,
  annotations: strMap,
  finalizers: strList,
  ownerReferences: { list: ownerReference },
});

const probe = obj({
  httpGet: obj({ path: str, port: 'intOrString', host: str, scheme: str }),
  tcpSocket: obj({ port: 'intOrString', host: str }),
  exec: obj({ command: strList }),
  initialDelaySeconds: int,
  timeoutSeconds: int,
  periodSeconds: int,
  successThreshold: int,
  failureThreshold: int,
});
const container = obj({
  name: str,
  image: str,
  command: strList,
  args: strList,
  workingDir: str,
  imagePullPolicy: str,
  ports: { list: obj({ name: str, containerPort: int, hostPort: int, protocol: str, hostIP: str }) },
  env: { list: obj({ name: str, value: str, valueFrom: 'any' }) },
  envFrom: { list: obj({ prefix: str, configMapRef: obj({ name: str }), secretRef: obj({ name: str }) }) },
  resources: obj({ limits: { map: 'intOrString' }, requests: { map: 'intOrString' } }),
  volumeMounts: { list: obj({ name: str, mountPath: str, readOnly: bool, subPath: str }) },
  livenessProbe: probe,
  readinessProbe: probe,
  startupProbe: probe,
  terminationMessagePath: str,
  terminationMessagePolicy: str,
  restartPolicy: str,
});
export const podSpec = obj({
  containers: { list: container },
  initContainers: { list: container },
  volumes: {
    list: obj({
      name: str,
      secret: obj({ secretName: str, defaultMode: int }),
      configMap: obj({ name: str, defaultMode: int }),
    }),
  },
  restartPolicy: str,
  dnsPolicy: str,
  nodeName: str,
  nodeSelector: strMap,
  serviceAccountName: str,
  serviceAccount: str,
  schedulerName: str,
  terminationGracePeriodSeconds: int64,
  activeDeadlineSeconds: int64,
  priority: int,
  enableServiceLinks: bool,
  hostNetwork: bool,
  securityContext: 'any',
  tolerations: { list: obj({ key: str, operator: str, value: str, effect: str, tolerationSeconds: int64 }) },
  imagePullSecrets: { list: obj({ name: str }) },
  readinessGates: { list: obj({ conditionType: str }) },
});
const podTemplate = obj({ metadata: objectMeta, spec: podSpec });
const labelSelector = obj({
  matchLabels: strMap,
  matchExpressions: { list: obj({ key: str, operator: str, values: strList }) },
});
const ingressBackend = obj({
  service: obj({ name: str, port: obj({ name: str, number: int }) }),
  resource: obj({ apiGroup: str, kind: str, name: str }),
});
const policyPort = obj({ protocol: str, port: 'intOrString', endPort: int });
const policyPeer = obj({
  podSelector: labelSelector,
  namespaceSelector: labelSelector,
  ipBlock: obj({ cidr: str, except: strList }),
});

const ruleWithOperations = obj({
  operations: strList,
  apiGroups: strList,
  apiVersions: strList,
  resources: strList,
  scope: str,
});
const webhook = obj({
  name: str,
  clientConfig: obj({
    url: str,
    service: obj({ namespace: str, name: str, path: str, port: int }),
    caBundle: 'bytes',
  }),
  rules: { list: ruleWithOperations },
  failurePolicy: str,
  matchPolicy: str,
  namespaceSelector: labelSelector,
  objectSelector: labelSelector,
  sideEffects: str,
  timeoutSeconds: int,
  admissionReviewVersions: strList,
  reinvocationPolicy: str,
  matchConditions: { list: obj({ name: str, expression: str }) },
});
const namedRuleWithOperations = obj({
  operations: strList,
  apiGroups: strList,
  apiVersions: strList,
  resources: strList,
  resourceNames: strList,
  scope: str,
});
const matchResources = obj({
  namespaceSelector: labelSelector,
  objectSelector: labelSelector,
  resourceRules: { list: namedRuleWithOperations },
  excludeResourceRules: { list: namedRuleWithOperations },
  matchPolicy: str,
});

const crossVersionReference = obj({ apiVersion: str, kind: str, name: str });
/** Quantities are strings or JSON numbers; their grammar is validation's to judge. */
const metricTarget = obj({ type: str, averageUtilization: int, value: 'any', averageValue: 'any' });
const metricIdentifier = obj({ name: str, selector: labelSelector });
const scalingRules = obj({
  tolerance: 'any',
  stabilizationWindowSeconds: int,
  selectPolicy: str,
  policies: { list: obj({ type: str, value: int, periodSeconds: int }) },
});
/** autoscaling/v2 and autoscaling/v1 fields together: no name has a different type in the two. */
const horizontalPodAutoscalerSpec = obj({
  scaleTargetRef: crossVersionReference,
  minReplicas: int,
  maxReplicas: int,
  targetCPUUtilizationPercentage: int,
  metrics: {
    list: obj({
      type: str,
      resource: obj({ name: str, target: metricTarget }),
      containerResource: obj({ name: str, container: str, target: metricTarget }),
      pods: obj({ metric: metricIdentifier, target: metricTarget }),
      object: obj({ describedObject: crossVersionReference, metric: metricIdentifier, target: metricTarget }),
      external: obj({ metric: metricIdentifier, target: metricTarget }),
    }),
  },
  behavior: obj({ scaleUp: scalingRules, scaleDown: scalingRules }),
});

/** Shapes by resource (core resources by plural name; others as group/resource). */
export const shapes: Readonly<Record<string, Readonly<Record<string, Shape>>>> = {
  pods: {
    spec: podSpec,
    status: obj({
      phase: str,
      conditions: { list: obj({ type: str, status: str }) },
      containerStatuses: { list: 'any' },
    }),
  },
  services: {
    spec: obj({
      type: str,
      clusterIP: str,
      clusterIPs: strList,
      selector: strMap,
      externalIPs: strList,
      sessionAffinity: str,
      ports: {
        list: obj({ name: str, port: int, targetPort: 'intOrString', nodePort: int, protocol: str, appProtocol: str }),
      },
    }),
  },
  replicationcontrollers: {
    spec: obj({ replicas: int, minReadySeconds: int, selector: strMap, template: podTemplate }),
  },
  configmaps: { data: strMap, binaryData: bytesMap, immutable: bool },
  secrets: { data: bytesMap, stringData: strMap, type: str, immutable: bool },
  namespaces: { spec: obj({ finalizers: strList }), status: obj({ phase: str }) },
  nodes: {
    spec: obj({
      podCIDR: str,
      podCIDRs: strList,
      unschedulable: bool,
      taints: { list: obj({ key: str, value: str, effect: str }) },
    }),
  },
  'coordination.k8s.io/leases': {
    spec: obj({
      holderIdentity: str,
      leaseDurationSeconds: int,
      leaseTransitions: int,
      acquireTime: 'any',
      renewTime: 'any',
    }),
  },
  'networking.k8s.io/networkpolicies': {
    spec: obj({
      podSelector: labelSelector,
      policyTypes: strList,
      ingress: { list: obj({ ports: { list: policyPort }, from: { list: policyPeer } }) },
      egress: { list: obj({ ports: { list: policyPort }, to: { list: policyPeer } }) },
    }),
  },
  'scheduling.k8s.io/priorityclasses': { value: int, globalDefault: bool, description: str, preemptionPolicy: str },
  'autoscaling/horizontalpodautoscalers': {
    spec: horizontalPodAutoscalerSpec,
    status: obj({ currentReplicas: int, desiredReplicas: int, currentCPUUtilizationPercentage: int }),
  },
  'policy/poddisruptionbudgets': {
    spec: obj({
      minAvailable: 'intOrString',
      maxUnavailable: 'intOrString',
      selector: labelSelector,
      unhealthyPodEvictionPolicy: str,
    }),
  },
  'networking.k8s.io/ingresses': {
    spec: obj({
      ingressClassName: str,
      defaultBackend: ingressBackend,
      tls: { list: obj({ hosts: strList, secretName: str }) },
      rules: {
        list: obj({
          host: str,
          http: obj({ paths: { list: obj({ path: str, pathType: str, backend: ingressBackend }) } }),
        }),
      },
    }),
    status: obj({
      loadBalancer: obj({
        ingress: {
          list: obj({ ip: str, hostname: str, ports: { list: obj({ port: int, protocol: str, error: str }) } }),
        },
      }),
    }),
  },
  'networking.k8s.io/ingressclasses': {
    spec: obj({
      controller: str,
      parameters: obj({ apiGroup: str, kind: str, name: str, scope: str, namespace: str }),
    }),
  },
  'apps/deployments': {
    spec: obj({
      replicas: int,
      selector: labelSelector,
      template: podTemplate,
      strategy: obj({ type: str, rollingUpdate: obj({ maxSurge: 'intOrString', maxUnavailable: 'intOrString' }) }),
      revisionHistoryLimit: int,
      progressDeadlineSeconds: int,
      minReadySeconds: int,
      paused: bool,
    }),
  },
  'apps/replicasets': {
    spec: obj({ replicas: int, selector: labelSelector, template: podTemplate, minReadySeconds: int }),
  },
  'apps/daemonsets': {
    spec: obj({ selector: labelSelector, template: podTemplate, updateStrategy: 'any', revisionHistoryLimit: int }),
  },
  'apps/statefulsets': {
    spec: obj({ replicas: int, selector: labelSelector, template: podTemplate, serviceName: str }),
  },
  'batch/jobs': {
    spec: obj({
      parallelism: int,
      completions: int,
      backoffLimit: int,
      selector: labelSelector,
      template: podTemplate,
      suspend: bool,
    }),
  },
  'batch/cronjobs': {
    spec: obj({
      schedule: str,
      suspend: bool,
      jobTemplate: obj({ metadata: objectMeta, spec: obj({ template: podTemplate }) }),
    }),
  },
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': { webhooks: { list: webhook } },
  'admissionregistration.k8s.io/validatingwebhookconfigurations': { webhooks: { list: webhook } },
  'admissionregistration.k8s.io/validatingadmissionpolicies': {
    spec: obj({
      failurePolicy: str,
      paramKind: obj({ apiVersion: str, kind: str }),
      matchConstraints: matchResources,
      validations: { list: obj({ expression: str, message: str, messageExpression: str, reason: str }) },
      auditAnnotations: { list: obj({ key: str, valueExpression: str }) },
      matchConditions: { list: obj({ name: str, expression: str }) },
      variables: { list: obj({ name: str, expression: str }) },
    }),
    status: obj({ observedGeneration: int64, typeChecking: 'any', conditions: { list: 'any' } }),
  },
  'admissionregistration.k8s.io/validatingadmissionpolicybindings': {
    spec: obj({
      policyName: str,
      paramRef: obj({ name: str, namespace: str, selector: labelSelector, parameterNotFoundAction: str }),
      validationActions: strList,
      matchResources,
    }),
  },
  'apiregistration.k8s.io/apiservices': {
    spec: obj({
      group: str,
      version: str,
      service: obj({ namespace: str, name: str, port: int }),
      caBundle: 'bytes',
      insecureSkipTLSVerify: bool,
      groupPriorityMinimum: int,
      versionPriority: int,
    }),
    status: obj({
      conditions: { list: obj({ type: str, status: str, lastTransitionTime: str, reason: str, message: str }) },
    }),
  },
};

function describe(shape: Shape): string {
  if (typeof shape === 'string')
    return shape === 'intOrString'
      ? 'integer or string'
      : shape === 'int64'
        ? 'integer'
        : shape === 'bytes'
          ? 'string'
          : shape;
  if ('map' in shape) return 'object';
  if ('list' in shape) return 'array';
  return 'object';
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function fitsInteger(value: number, shape: 'integer' | 'int64'): boolean {
  if (shape === 'integer') return value >= -(2 ** 31) && value < 2 ** 31;
  // a double cannot tell 2^63 - 1 from 2^63: the edge is given the benefit of the doubt
  return Math.abs(value) <= 2 ** 63;
}

function check(value: unknown, shape: Shape, path: string, causes: StatusCause[]): void {
  if (value === undefined || value === null) return;
  const actual = typeOf(value);
  const fail = (): void => {
    causes.push({
      reason: 'FieldValueTypeInvalid',
      field: path,
      message: `Invalid value: "${actual}": ${path} must be of type ${describe(shape)}`,
    });
  };
  // upstream decodes into Go's int32/int64 and refuses a number that does not fit (400), so a
  // stored object always decodes in every typed client (an overflowing replicas breaks their lists)
  const outOfRange = (number: number, type: string): void => {
    causes.push({
      reason: 'FieldValueTypeInvalid',
      field: path,
      message: `Invalid value: ${number}: ${path} must be of type ${type}`,
    });
  };
  if (typeof shape === 'string') {
    switch (shape) {
      case 'any':
        return;
      case 'string':
        if (actual !== 'string') fail();
        return;
      case 'integer':
      case 'int64':
        if (actual !== 'integer') fail();
        else if (!fitsInteger(value as number, shape))
          outOfRange(value as number, shape === 'integer' ? 'int32' : 'int64');
        return;
      case 'number':
        if (actual !== 'integer' && actual !== 'number') fail();
        return;
      case 'bytes': {
        if (actual !== 'string') return fail();
        // Go's decoder names the byte offset only: the value may be a secret and is never echoed
        const offset = illegalBase64Offset(value as string);
        if (offset !== undefined)
          causes.push({ reason: 'FieldValueInvalid', field: path, message: illegalBase64Message(offset) });
        return;
      }
      case 'boolean':
        if (actual !== 'boolean') fail();
        return;
      case 'intOrString':
        if (actual !== 'integer' && actual !== 'string') fail();
        return;
    }
  }
  if ('list' in shape) {
    if (!Array.isArray(value)) return fail();
    value.forEach((item, i) => {
      if (item === null)
        causes.push({
          reason: 'FieldValueTypeInvalid',
          field: `${path}[${i}]`,
          message: `Invalid value: "null": ${path}[${i}] must be of type ${describe(shape.list)}`,
        });
      else check(item, shape.list, `${path}[${i}]`, causes);
    });
    return;
  }
  if (actual !== 'object') return fail();
  const record = value as Record<string, unknown>;
  if ('map' in shape) {
    for (const [k, v] of Object.entries(record)) check(v, shape.map, `${path}[${k}]`, causes);
    return;
  }
  for (const [k, fieldShape] of Object.entries(shape.fields))
    check(record[k], fieldShape, path ? `${path}.${k}` : k, causes);
}

/** Throws 400 BadRequest naming every field with a wrong JSON type. */
export function checkShape(resourceKey: string, kind: string, object: Record<string, unknown>): void {
  const causes: StatusCause[] = [];
  if (typeof object.metadata !== 'object' || object.metadata === null || Array.isArray(object.metadata)) {
    causes.push({ reason: 'FieldValueTypeInvalid', field: 'metadata', message: 'metadata must be an object' });
  } else {
    check(object.metadata, objectMeta, 'metadata', causes);
  }
  for (const [field, shape] of Object.entries(shapes[resourceKey] ?? {})) check(object[field], shape, field, causes);
  if (causes.length > 0) {
    const name =
      typeof (object.metadata as { name?: unknown } | undefined)?.name === 'string'
        ? String((object.metadata as { name: string }).name)
        : '';
    throw new ApiError(
      'BadRequest',
      `${kind} in version is invalid: ${causes
        .slice(0, 5)
        .map((c) => c.message)
        .join('; ')}`,
      { name, kind, causes },
    );
  }
}
