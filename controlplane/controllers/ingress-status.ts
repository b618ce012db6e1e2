/**
 * The addresses of Ingresses the built-in proxy serves: every agent that runs the proxy says so
 * on its Node (bosun.io/ingress-proxy), so an Ingress is reached at the InternalIP of each Ready
 * node that carries it (as k3s' Traefik behind servicelb reports its nodes). This controller keeps `status.loadBalancer.ingress` equal to those
 * addresses; Ingresses of other classes are left to their own controllers.
 */
import type { Node } from '../../kube/corev1.ts';
import {
  ingressProxyAnnotation,
  servedByBosunProxy,
  type Ingress,
  type IngressClass,
} from '../../kube/networkingv1.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Plan } from './actions.ts';
import { objectKey } from './client.ts';
import type { Caches, ControllerSpec } from './manager.ts';

/** Pure: the InternalIPs of Ready nodes that run the ingress proxy, sorted, each once. */
export function ingressAddresses(nodes: readonly Node[]): string[] {
  const ips = new Set<string>();
  for (const node of nodes) {
    const ready = (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    if (!ready || node.metadata.deletionTimestamp !== undefined) continue;
    if (node.metadata.annotations?.[ingressProxyAnnotation] === undefined) continue;
    const internal = (node.status?.addresses ?? []).find((a) => a.type === 'InternalIP')?.address;
    if (internal !== undefined && internal !== '') ips.add(internal);
  }
  return [...ips].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Pure: the status write that brings one Ingress's addresses in line, if any. */
export function planIngressStatus(ingress: Ingress, classes: readonly IngressClass[], nodes: readonly Node[]): Plan {
  if (!servedByBosunProxy(ingress, classes)) return { actions: [] };
  const wanted = ingressAddresses(nodes).map((ip) => ({ ip }));
  const current = ingress.status?.loadBalancer?.ingress ?? [];
  if (JSON.stringify(current) === JSON.stringify(wanted)) return { actions: [] };
  const object = {
    ...ingress,
    status: { ...ingress.status, loadBalancer: { ...(wanted.length > 0 ? { ingress: wanted } : {}) } },
  } as KubeObject;
  return { actions: [{ kind: 'updateStatus', resource: 'ingresses', object }] };
}

const everyIngress = (_: KubeObject, caches: Caches) => caches.list('ingresses').map(objectKey);

export const ingressStatusController: ControllerSpec = {
  name: 'ingress-status',
  primary: 'ingresses',
  triggers: [
    { resource: 'nodes', keysFor: everyIngress },
    { resource: 'ingressclasses', keysFor: everyIngress },
  ],
  ownsWhatItTouches: false,
  plan: (ingress, caches) =>
    planIngressStatus(
      ingress as Ingress,
      caches.list('ingressclasses') as IngressClass[],
      caches.list('nodes') as unknown as Node[],
    ),
};
