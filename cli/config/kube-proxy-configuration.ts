/**
 * Upstream's KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1), as `kube-proxy --config`
 * reads it, for `bosun agent --proxy-config`: the agent is the node's kube-proxy too.
 */
import { convert, type DocumentSchema } from './upstream-document.ts';

/** kube-proxy's empty mode means its platform default, iptables on Linux. */
function mode(value: unknown): string {
  const text = convert.string(value);
  return text === '' ? 'iptables' : text;
}

export const kubeProxyConfiguration: DocumentSchema = {
  kind: 'KubeProxyConfiguration',
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
  command: 'bosun agent',
  mapped: {
    mode: { flag: 'proxy-mode', convert: mode },
    clusterCIDR: { flag: 'cluster-cidr', convert: convert.string },
    healthzBindAddress: { flag: 'proxy-healthz-bind-address', convert: convert.string },
    hostnameOverride: { flag: 'node-name', convert: convert.string },
  },
  fixed: {},
};
