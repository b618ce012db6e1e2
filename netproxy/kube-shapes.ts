/**
 * The few fields of Service, EndpointSlice and Node that the proxy reads, named exactly as in the
 * Kubernetes JSON so that they can later be replaced by the shared API types without a rename.
 * Everything is optional where the API allows it to be absent.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  resourceVersion?: string;
}

export type WireProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePortSpec {
  name?: string;
  protocol?: WireProtocol;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface Service {
  metadata: ObjectMeta;
  spec: {
    type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: ServicePortSpec[];
    externalIPs?: string[];
    sessionAffinity?: 'None' | 'ClientIP';
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalTrafficPolicy?: 'Cluster' | 'Local';
    internalTrafficPolicy?: 'Cluster' | 'Local';
    healthCheckNodePort?: number;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  nodeName?: string;
}

export interface EndpointSlice {
  metadata: ObjectMeta;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: SliceEndpoint[];
  ports?: { name?: string; protocol?: WireProtocol; port?: number }[];
}

export interface NodeObject {
  metadata: ObjectMeta;
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type: string; address: string }[] };
}

/** The label on an EndpointSlice that names the Service it belongs to. */
export const serviceNameLabel = 'kubernetes.io/service-name';

/** The API's default ClientIP affinity timeout (3 hours). */
export const defaultAffinitySeconds = 10800;
