/**
 * Ports a LoadBalancer Service may not take on the nodes' own addresses: the node's daemons
 * (the service proxy would send their traffic to the Service's pods, so a namespace admin could
 * take over a node's kubelet or the API server) and the node ports of other Services (whose rules
 * the load-balancer rule would shadow). Pure; "port/PROTOCOL" keys.
 */
import type { Node, Service } from '../../kube/corev1.ts';
import { ingressProxyAnnotation } from '../../kube/networkingv1.ts';
import { objectKey } from './client.ts';

/** What listens on every node (or on server nodes), by port: sshd, etcd, the API server, the agent, VXLAN. */
const nodeDaemons: ReadonlyMap<string, string> = new Map([
  ['22/TCP', 'ssh'],
  ['2379/TCP', 'etcd'],
  ['2380/TCP', 'etcd peers'],
  ['6443/TCP', 'the API server'],
  ['8472/UDP', 'the pod network (VXLAN)'],
  ['10248/TCP', 'the agent health check'],
  ['10250/TCP', 'the kubelet port'],
  ['10256/TCP', 'the service proxy health check'],
]);

/** Why `port` (e.g. "10250/TCP") may not be served on node addresses, or undefined. */
export function nodePortProblem(port: string, service: Service, services: readonly Service[]): string | undefined {
  const daemon = nodeDaemons.get(port);
  if (daemon !== undefined) return `port ${port} is reserved on every node for ${daemon}`;
  const [number, protocol] = port.split('/');
  for (const other of services) {
    if (other.metadata.uid === service.metadata.uid) continue;
    const spec = other.spec;
    if (spec === undefined) continue;
    const nodePorts = (spec.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === protocol).map((p) => p.nodePort);
    if (protocol === 'TCP' && spec.healthCheckNodePort) nodePorts.push(spec.healthCheckNodePort);
    if (nodePorts.includes(Number(number))) return `port ${port} is a node port of Service ${objectKey(other)}`;
  }
  return undefined;
}

/**
 * The TCP ports ("80/TCP") a node's built-in ingress proxy listens on, from the annotation its agent
 * writes (`http=80,https=443`); none when the agent runs no ingress proxy (--disable ingress).
 */
export function ingressProxyPorts(node: Node): Set<string> {
  const value = node.metadata.annotations?.[ingressProxyAnnotation] ?? '';
  const ports = new Set<string>();
  for (const part of value.split(',')) {
    const port = Number(part.split('=')[1]);
    if (Number.isInteger(port) && port > 0 && port < 65536) ports.add(`${port}/TCP`);
  }
  return ports;
}
