/**
 * Where a Service reference of an extension (an admission webhook's clientConfig.service, an
 * APIService's spec.service) is reached from the API server, decided from the objects alone, as
 * upstream's endpoint resolver decides it: the Service port with the referenced number, then a
 * ready endpoint of the Service's EndpointSlices on the port of the same name (an ExternalName
 * Service is its external name). The TLS server name is `<service>.<namespace>.svc`, which the
 * extension's serving certificate is made for. These references are written by cluster
 * administrators, so, unlike services/proxy, any address an endpoint holds is used.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';

type Any = Record<string, any>;

export interface ServiceEndpoint {
  readonly host: string;
  readonly port: number;
  /** The name the serving certificate must carry. */
  readonly serverName: string;
}

export function serviceEndpoint(
  reference: { namespace: string; name: string; port: number },
  service: KubeObject | undefined,
  slices: readonly KubeObject[],
): ServiceEndpoint {
  const id = `${reference.namespace}/${reference.name}`;
  const serverName = `${reference.name}.${reference.namespace}.svc`;
  if (service === undefined) throw new ApiError('NotFound', `service "${reference.name}" not found`);
  const spec = (service.spec ?? {}) as Any;
  if (spec.type === 'ExternalName') return { host: String(spec.externalName), port: reference.port, serverName };
  const servicePort = ((spec.ports ?? []) as Any[]).find((p) => p.port === reference.port);
  if (servicePort === undefined)
    throw new ApiError('ServiceUnavailable', `no service port ${reference.port} found for service "${reference.name}"`);
  const portName = String(servicePort.name ?? '');
  for (const slice of slices as readonly Any[]) {
    if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== reference.name) continue;
    const port = ((slice.ports ?? []) as Any[]).find((p) => String(p.name ?? '') === portName);
    if (typeof port?.port !== 'number') continue;
    for (const endpoint of (slice.endpoints ?? []) as Any[]) {
      if (endpoint.conditions?.ready === false) continue;
      const address = (endpoint.addresses ?? [])[0];
      if (typeof address === 'string') return { host: address, port: port.port, serverName };
    }
  }
  throw new ApiError('ServiceUnavailable', `no endpoints available for service "${id}"`);
}
