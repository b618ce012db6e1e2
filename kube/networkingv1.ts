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
