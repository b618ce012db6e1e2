/**
 * Upstream's KubeletConfiguration (kubelet.config.k8s.io/v1beta1), as `kubelet --config` reads it,
 * for `bosun agent --config`: the fields bosun has a flag for, in upstream's names and forms.
 */
import { convert, type DocumentSchema } from './upstream-document.ts';

/** `registerWithTaints: [{key, value, effect}]` → `key=value:Effect`, the flag's form. */
function taints(value: unknown): string[] {
  if (!Array.isArray(value)) throw new Error(`expected a list of taints, got ${JSON.stringify(value)}`);
  return value.map((taint: unknown) => {
    const { key, value: taintValue, effect } = (taint ?? {}) as Record<string, unknown>;
    if (typeof key !== 'string' || typeof effect !== 'string')
      throw new Error(`each taint needs a key and an effect, got ${JSON.stringify(taint)}`);
    return `${key}${typeof taintValue === 'string' && taintValue !== '' ? `=${taintValue}` : ''}:${effect}`;
  });
}

export const kubeletConfiguration: DocumentSchema = {
  kind: 'KubeletConfiguration',
  apiVersion: 'kubelet.config.k8s.io/v1beta1',
  command: 'bosun agent',
  mapped: {
    address: { flag: 'address', convert: convert.string },
    port: { flag: 'port', convert: convert.number },
    healthzPort: { flag: 'healthz-port', convert: convert.number },
    tlsCertFile: { flag: 'tls-cert-file', convert: convert.string },
    tlsPrivateKeyFile: { flag: 'tls-private-key-file', convert: convert.string },
    maxPods: { flag: 'max-pods', convert: convert.number },
    cgroupDriver: { flag: 'cgroup-driver', convert: convert.string },
    cgroupRoot: { flag: 'cgroup-root', convert: convert.string },
    cgroupsPerQOS: { flag: 'cgroups-per-qos', convert: convert.boolean },
    clusterDNS: { flag: 'cluster-dns', convert: convert.stringList },
    clusterDomain: { flag: 'cluster-domain', convert: convert.string },
    resolvConf: { flag: 'resolv-conf', convert: convert.string },
    registerWithTaints: { flag: 'register-with-taints', convert: taints },
    systemReserved: { flag: 'system-reserved', convert: convert.pairs('=') },
    kubeReserved: { flag: 'kube-reserved', convert: convert.pairs('=') },
    evictionHard: { flag: 'eviction-hard', convert: convert.pairs('<') },
    evictionPressureTransitionPeriod: { flag: 'eviction-pressure-transition-period', convert: convert.string },
    imageGCHighThresholdPercent: { flag: 'image-gc-high-threshold', convert: convert.number },
    imageGCLowThresholdPercent: { flag: 'image-gc-low-threshold', convert: convert.number },
    imageMinimumGCAge: { flag: 'minimum-image-ttl-duration', convert: convert.string },
    containerLogMaxSize: { flag: 'container-log-max-size', convert: convert.string },
    containerLogMaxFiles: { flag: 'container-log-max-files', convert: convert.number },
    staticPodPath: { flag: 'pod-manifest-path', convert: convert.string },
    fileCheckFrequency: { flag: 'file-check-frequency', convert: convert.string },
    shutdownGracePeriod: { flag: 'shutdown-grace-period', convert: convert.string },
    shutdownGracePeriodCriticalPods: { flag: 'shutdown-grace-period-critical-pods', convert: convert.string },
  },
  fixed: {
    'authentication.anonymous.enabled': { value: false, why: 'the kubelet port admits no anonymous requests' },
    'authentication.webhook.enabled': {
      value: false,
      why: 'the kubelet port authenticates client certificates from the cluster CA only',
    },
    'authorization.mode': { value: 'Webhook', why: 'requests are authorized by SubjectAccessReview' },
    readOnlyPort: { value: 0, why: 'there is no read-only port' },
    rotateCertificates: { value: true, why: 'the node certificate is always renewed by CSR' },
  },
};
