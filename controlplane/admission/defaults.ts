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
export function defaultPullPolicy(image: string | undefined): string {
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

export function defaultPodSpec(spec: Any): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as Any[]) defaultContainer(c);
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
  const guaranteed = all.every((r) => r.limits?.cpu && r.limits?.memory && (!r.requests || (r.requests.cpu ?? r.limits.cpu) === r.limits.cpu && (r.requests.memory ?? r.limits.memory) === r.limits.memory));
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
  for (const port of (spec.ports ?? []) as Any[]) {
    port.protocol ??= 'TCP';
    port.targetPort ??= port.port;
  }
}

function defaultTemplate(object: Any): void {
  const template = object.spec?.template;
  if (template) {
    template.metadata ??= {};
    template.spec ??= {};
    defaultPodSpec(template.spec);
  }
}

export function defaultWorkload(kind: string, object: Any): void {
  const spec = (object.spec ??= {});
  defaultTemplate(object);
  switch (kind) {
    case 'Deployment':
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= {};
      spec.strategy.type ??= 'RollingUpdate';
      if (spec.strategy.type === 'RollingUpdate') spec.strategy.rollingUpdate ??= { maxUnavailable: '25%', maxSurge: '25%' };
      break;
    case 'ReplicaSet':
    case 'StatefulSet':
      spec.replicas ??= 1;
      break;
    case 'DaemonSet':
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
      break;
    case 'Job':
      spec.backoffLimit ??= 6;
      spec.completions ??= spec.parallelism ?? 1;
      spec.parallelism ??= 1;
      break;
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
