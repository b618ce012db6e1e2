/**
 * Pods and namespaces from the API as the compiler sees them. A pod takes part once it has an
 * address on the pod network: host-network pods share the node's address and are never selected
 * nor matched as peers; finished pods have given their address back.
 */
import type { Pod } from '../../kube/corev1.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { NamespaceView, PodView } from './compile.ts';
import type { Protocol } from './ruleset.ts';

const protocols: readonly string[] = ['TCP', 'UDP', 'SCTP'];

/** `addressOverride`: the address this node's pod got from its sandbox before the API shows it. */
export function podView(pod: Pod, nodeName: string, addressOverride?: string): PodView | undefined {
  if (pod.spec?.hostNetwork === true) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const ip = addressOverride ?? pod.status?.podIP;
  if (ip === undefined || ip === '') return undefined;
  const ports: { name: string; port: number; protocol: Protocol }[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      if (p.name && protocols.includes(protocol)) ports.push({ name: p.name, port: p.containerPort, protocol });
    }
  }
  return {
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name ?? '',
    labels: pod.metadata.labels ?? {},
    ip,
    local: pod.spec.nodeName === nodeName,
    ports,
  };
}

export function namespaceView(namespace: KubeObject): NamespaceView {
  return { name: namespace.metadata.name ?? '', labels: namespace.metadata.labels ?? {} };
}
