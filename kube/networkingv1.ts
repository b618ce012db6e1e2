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

/** The class the built-in ingress proxy serves; the server creates it, marked as the default class. */
export const bosunIngressClassName = 'bosun';
export const bosunIngressController = 'bosun.io/ingress-proxy';
/** The annotation that named an Ingress's class before `spec.ingressClassName`. */
export const ingressClassAnnotation = 'kubernetes.io/ingress.class';
