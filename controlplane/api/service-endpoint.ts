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

interface ServiceReference {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
}

export interface ServiceEndpoint {
  readonly host: string;
  readonly port: number;
  /** The name the serving certificate must carry. */
  readonly serverName: string;
}

/** Why a reference leads nowhere, in the words of upstream's APIService conditions. */
interface Unreachable {
  readonly reason: 'ServiceNotFound' | 'ServicePortError' | 'MissingEndpoints';
  readonly message: string;
}

export function resolveServiceEndpoint(
  reference: ServiceReference,
  service: KubeObject | undefined,
  slices: readonly KubeObject[],
): ServiceEndpoint | Unreachable {
  const where = `service/${reference.name} in "${reference.namespace}"`;
  const serverName = `${reference.name}.${reference.namespace}.svc`;
  if (service === undefined) return { reason: 'ServiceNotFound', message: `${where} is not present` };
  const spec = (service.spec ?? {}) as Any;
  if (spec.type === 'ExternalName') return { host: String(spec.externalName), port: reference.port, serverName };
  const servicePort = ((spec.ports ?? []) as Any[]).find((p) => p.port === reference.port);
  if (servicePort === undefined)
    return { reason: 'ServicePortError', message: `${where} is not listening on port ${reference.port}` };
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
  return {
    reason: 'MissingEndpoints',
    message: `endpoints for ${where} have no addresses with port name "${portName}"`,
  };
}

export const isUnreachable = (result: ServiceEndpoint | Unreachable): result is Unreachable => 'reason' in result;

/** The endpoint, or the error a caller that needs one now gets (webhooks: `services "x" not found`, 503 otherwise). */
export function serviceEndpoint(
  reference: ServiceReference,
  service: KubeObject | undefined,
  slices: readonly KubeObject[],
): ServiceEndpoint {
  const result = resolveServiceEndpoint(reference, service, slices);
  if (!isUnreachable(result)) return result;
  if (result.reason === 'ServiceNotFound') throw new ApiError('NotFound', `services "${reference.name}" not found`);
  if (result.reason === 'ServicePortError')
    throw new ApiError('ServiceUnavailable', `no service port ${reference.port} found for service "${reference.name}"`);
  throw new ApiError('ServiceUnavailable', `no endpoints available for service "${reference.name}"`);
}
