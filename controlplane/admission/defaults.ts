/**
 * Defaulting as upstream's API defaults do it, for the fields the agent and kubectl rely on.
 * Each function fills what is missing in place and never overwrites a value the client set.
 */
type Any = Record<string, any>;

function defaultProbe(probe: Any | undefined): void {
  if (!probe) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (probe.httpGet) probe.httpGet.scheme ??= 'HTTP';
  if (probe.httpGet) probe.httpGet.path ??= '/';
}

/** `Always` for :latest or untagged images, `IfNotPresent` otherwise. */
function defaultPullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  const tag = colon >= 0 ? lastPart.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: Any): void {
  c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const port of (c.ports ?? []) as Any[]) port.protocol ??= 'TCP';
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

function defaultPodSpec(spec: Any): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const c of [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ] as Any[])
    defaultContainer(c);
  for (const volume of (spec.volumes ?? []) as Any[]) {
    if (volume.secret) volume.secret.defaultMode ??= 0o644;
    if (volume.configMap) volume.configMap.defaultMode ??= 0o644;
  }
}

export function defaultPod(pod: Any): void {
  pod.spec ??= {};
  defaultPodSpec(pod.spec);
  pod.spec.serviceAccountName ??= pod.spec.serviceAccount ?? 'default';
  pod.spec.serviceAccount ??= pod.spec.serviceAccountName;
  pod.spec.priority ??= 0;
  pod.status ??= {};
  pod.status.phase ??= 'Pending';
  pod.status.qosClass ??= qosClass(pod.spec);
}

function qosClass(spec: Any): string {
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as Any[];
  const all = containers.map((c) => c.resources ?? {});
  if (all.every((r) => !r.requests && !r.limits)) return 'BestEffort';
  const guaranteed = all.every(
    (r) =>
      r.limits?.cpu &&
      r.limits?.memory &&
      (!r.requests ||
        ((r.requests.cpu ?? r.limits.cpu) === r.limits.cpu &&
          (r.requests.memory ?? r.limits.memory) === r.limits.memory)),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function defaultService(svc: Any): void {
  const spec = (svc.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') {
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  for (const port of (spec.ports ?? []) as Any[]) {
    port.protocol ??= 'TCP';
    port.targetPort ??= port.port;
  }
}

function defaultTemplate(template: Any | undefined): void {
  if (template) {
    template.metadata ??= {};
    template.spec ??= {};
    defaultPodSpec(template.spec);
  }
}

/** RollingUpdate fills in what the client left out, field by field (upstream's SetDefaults_*). */
function defaultRollingUpdate(strategy: Any, defaults: Any): void {
  strategy.type ??= 'RollingUpdate';
  if (strategy.type !== 'RollingUpdate') return;
  strategy.rollingUpdate ??= {};
  for (const [k, v] of Object.entries(defaults)) strategy.rollingUpdate[k] ??= v;
}

export const jobNameLabel = 'batch.kubernetes.io/job-name';
export const jobControllerUidLabel = 'batch.kubernetes.io/controller-uid';

/**
 * A Job without manualSelector gets its selector from its uid, and its pods the labels that match
 * it (the legacy unprefixed ones too), as upstream's job strategy generates them on create.
 */
function generateJobSelector(job: Any): void {
  const spec = job.spec;
  if (spec.manualSelector === true) return;
  const uid = job.metadata?.uid;
  if (!uid) return;
  const name = job.metadata.name ?? '';
  // A selector the client sent is kept and narrowed to this Job (upstream's generateSelector).
  const selector = (spec.selector ??= {});
  selector.matchLabels = {
    ...selector.matchLabels,
    [jobControllerUidLabel]: selector.matchLabels?.[jobControllerUidLabel] ?? uid,
  };
  const template = (spec.template ??= {});
  template.metadata ??= {};
  template.metadata.labels = {
    ...template.metadata.labels,
    [jobControllerUidLabel]: uid,
    [jobNameLabel]: name,
    'controller-uid': uid,
    'job-name': name,
  };
}

function defaultJobSpec(spec: Any): void {
  // Both unset: a single pod. Parallelism alone: a work queue, completions stay unset.
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  // A pod condition pattern without a status means True (upstream's SetDefaults_Job).
  for (const rule of Array.isArray(spec.podFailurePolicy?.rules) ? spec.podFailurePolicy.rules : [])
    for (const pattern of Array.isArray(rule?.onPodConditions) ? rule.onPodConditions : [])
      if (pattern && typeof pattern === 'object') pattern.status ??= 'True';
}

export function defaultWorkload(kind: string, object: Any, creating = true): void {
  const spec = (object.spec ??= {});
  defaultTemplate(spec.template);
  switch (kind) {
    case 'Deployment':
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      defaultRollingUpdate((spec.strategy ??= {}), { maxUnavailable: '25%', maxSurge: '25%' });
      break;
    case 'ReplicaSet':
      spec.replicas ??= 1;
      break;
    case 'StatefulSet':
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.revisionHistoryLimit ??= 10;
      defaultRollingUpdate((spec.updateStrategy ??= {}), { partition: 0 });
      spec.persistentVolumeClaimRetentionPolicy ??= {};
      spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
      spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
      break;
    case 'DaemonSet':
      spec.revisionHistoryLimit ??= 10;
      defaultRollingUpdate((spec.updateStrategy ??= {}), { maxUnavailable: 1, maxSurge: 0 });
      break;
    case 'Job':
      if (creating) generateJobSelector(object);
      defaultJobSpec(spec);
      // A Job without labels of its own shows its pods' labels (upstream defaults them so).
      if (Object.keys(object.metadata?.labels ?? {}).length === 0 && spec.template?.metadata?.labels) {
        object.metadata.labels = { ...spec.template.metadata.labels };
      }
      break;
    case 'CronJob': {
      spec.concurrencyPolicy ??= 'Allow';
      spec.suspend ??= false;
      spec.successfulJobsHistoryLimit ??= 3;
      spec.failedJobsHistoryLimit ??= 1;
      // Only the pod template inside: upstream defaults a Job's own fields on the Job, not here.
      defaultTemplate(spec.jobTemplate?.spec?.template);
      break;
    }
  }
}

export function defaultNamespace(ns: Any, creating: boolean): void {
  ns.status ??= {};
  ns.status.phase ??= 'Active';
  // As upstream's create strategy: every new namespace waits for the namespace controller to empty it.
  if (creating) {
    ns.spec ??= {};
    const finalizers: unknown[] = Array.isArray(ns.spec.finalizers) ? ns.spec.finalizers : [];
    ns.spec.finalizers = finalizers.includes('kubernetes') ? finalizers : [...finalizers, 'kubernetes'];
  }
  ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns.metadata.name };
}

/**
 * networking.k8s.io NetworkPolicy, as upstream defaults it: a port without a protocol is TCP, and
 * a policy that names no policyTypes is an Ingress policy, and an Egress one too when it has
 * egress rules.
 */
export function defaultNetworkPolicy(policy: Any): void {
  const spec = (policy.spec ??= {});
  spec.podSelector ??= {};
  for (const direction of ['ingress', 'egress'] as const) {
    if (!Array.isArray(spec[direction])) continue;
    for (const rule of spec[direction]) {
      if (rule === null || typeof rule !== 'object' || !Array.isArray(rule.ports)) continue;
      for (const port of rule.ports) if (port !== null && typeof port === 'object') port.protocol ??= 'TCP';
    }
  }
  if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
    spec.policyTypes = Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
}
