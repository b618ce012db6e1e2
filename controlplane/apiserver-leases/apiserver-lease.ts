/**
 * Each API server's own Lease, kube-system/apiserver-<id>, labelled as upstream labels its API
 * server identity leases (apiserver.kubernetes.io/identity=kube-apiserver): renewed while the
 * server runs, deleted when it stops gracefully. It also carries the address and port the server
 * advertises, which the `kubernetes` Service's endpoints are built from (kubernetes-endpoints.ts).
 *
 * The id is a hash of what makes the server unique and stays the same across its restarts (host
 * name, advertised address and port), so a restarted server takes its old lease over instead of
 * leaving a dead one behind for a lease's time.
 */
import { createHash } from 'node:crypto';
import { microTime } from '../../kube/api-time.ts';
import type { Lease } from '../../kube/corev1.ts';

export const apiserverLeaseNamespace = 'kube-system';
export const identityLabel = 'apiserver.kubernetes.io/identity';
export const identityLabelValue = 'kube-apiserver';
/** Where the lease says which address and port the server serves on. */
export const endpointAnnotation = 'bosun.io/apiserver-endpoint';

export interface ApiServerIdentity {
  readonly hostname: string;
  readonly advertiseAddress: string;
  readonly port: number;
}

export function apiserverLeaseName(identity: ApiServerIdentity): string {
  const digest = createHash('sha256')
    .update(`${identity.hostname}\n${identity.advertiseAddress}\n${identity.port}`)
    .digest('hex');
  return `apiserver-${digest.slice(0, 16)}`;
}

/** The lease as this server writes it at `now`, keeping the stored metadata (resourceVersion). */
export function desiredApiserverLease(
  current: Lease | undefined,
  identity: ApiServerIdentity,
  leaseDurationSeconds: number,
  now: number,
): Lease {
  const name = apiserverLeaseName(identity);
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...(current?.metadata ?? {}),
      name,
      namespace: apiserverLeaseNamespace,
      labels: {
        ...(current?.metadata.labels ?? {}),
        [identityLabel]: identityLabelValue,
        'kubernetes.io/hostname': identity.hostname.slice(0, 63),
      },
      annotations: {
        ...(current?.metadata.annotations ?? {}),
        [endpointAnnotation]: `${identity.advertiseAddress}:${identity.port}`,
      },
    },
    spec: {
      holderIdentity: name,
      leaseDurationSeconds,
      acquireTime: current?.spec?.acquireTime ?? microTime(now),
      renewTime: microTime(now),
    },
  };
}
