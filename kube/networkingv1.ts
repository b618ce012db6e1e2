/** networking.k8s.io/v1 NetworkPolicy, as the agent reads it (the fields its enforcement uses). */
import type { LabelSelectorObject } from './labels.ts';
import type { KubeObject, ObjectMeta } from './types.ts';

type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelectorObject;
  namespaceSelector?: LabelSelectorObject;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicySpec {
  podSelector?: LabelSelectorObject;
  ingress?: { ports?: NetworkPolicyPort[]; from?: NetworkPolicyPeer[] }[];
  egress?: { ports?: NetworkPolicyPort[]; to?: NetworkPolicyPeer[] }[];
  policyTypes?: PolicyType[];
}

export interface NetworkPolicy extends KubeObject {
  apiVersion?: 'networking.k8s.io/v1';
  kind?: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec?: NetworkPolicySpec;
}

/** networking.k8s.io/v1 Ingress, as the agent's ingress proxy reads it. */
interface IngressServiceBackend {
  name: string;
  port?: { name?: string; number?: number };
}

export interface IngressBackend {
  service?: IngressServiceBackend;
  resource?: { apiGroup?: string; kind: string; name: string };
}

type IngressPathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

interface IngressSpec {
  ingressClassName?: string;
  defaultBackend?: IngressBackend;
  tls?: { hosts?: string[]; secretName?: string }[];
  rules?: {
    host?: string;
    http?: { paths: { path?: string; pathType: IngressPathType; backend: IngressBackend }[] };
  }[];
}

export interface Ingress extends KubeObject {
  apiVersion?: 'networking.k8s.io/v1';
  kind?: 'Ingress';
  metadata: ObjectMeta;
  spec?: IngressSpec;
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface IngressClass extends KubeObject {
  metadata: ObjectMeta;
  spec?: { controller?: string };
}

/** The class the built-in ingress proxy serves; the server creates it, marked as the default class. */
export const bosunIngressClassName = 'bosun';
export const bosunIngressController = 'bosun.io/ingress-proxy';
/**
 * On a Node: the ports its agent's ingress proxy serves (`http=80,https=443`); absent when the
 * agent runs none (--disable ingress). The control plane lists only such nodes in Ingress status.
 */
export const ingressProxyAnnotation = 'bosun.io/ingress-proxy';
/** The annotation that named an Ingress's class before `spec.ingressClassName`. */
export const ingressClassAnnotation = 'kubernetes.io/ingress.class';

/** The class an Ingress names: its field, else the older annotation. */
function ingressClassOf(ingress: Ingress): string | undefined {
  return ingress.spec?.ingressClassName ?? ingress.metadata.annotations?.[ingressClassAnnotation];
}

/**
 * Whether the built-in proxy serves an Ingress: its class is `bosun` or another class whose
 * controller is the proxy's; one being deleted is not served any more.
 */
export function servedByBosunProxy(ingress: Ingress, classes: readonly IngressClass[]): boolean {
  if (ingress.metadata.deletionTimestamp !== undefined) return false;
  const name = ingressClassOf(ingress);
  if (name === undefined) return false;
  return (
    name === bosunIngressClassName ||
    classes.some((c) => c.metadata.name === name && c.spec?.controller === bosunIngressController)
  );
}
