/**
 * discovery.k8s.io/v1 shapes (EndpointSlice and what it contains) with the API's JSON field names,
 * shared by the EndpointSlice controller that writes them and the proxy and DNS that read them.
 * As in corev1.ts, everything is optional where the API lets a writer leave it out: a reader must
 * cope with a slice that a third party wrote.
 */
import type { Protocol } from './corev1.ts';
import type { KubeObject, ObjectMeta } from './types.ts';

/** The label on an EndpointSlice that names the Service it belongs to. */
export const serviceNameLabel = 'kubernetes.io/service-name';

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: 'Pod'; namespace?: string | undefined; name?: string | undefined; uid?: string | undefined };
}

export interface EndpointPort {
  name?: string;
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  apiVersion?: 'discovery.k8s.io/v1';
  kind?: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: Endpoint[];
  ports?: EndpointPort[];
}
