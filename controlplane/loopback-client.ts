/**
 * How `bosun server`'s own scheduler, controllers and certificate signer reach its API
 * (`--controllers-loopback`): `in-process` (the default) hands each of their connections straight
 * to the API server's request handler (`ApiServer.connectInProcess`), `tcp` dials the server's
 * HTTPS port over loopback as a separate controller manager would. Either way every request passes
 * the same authentication (as the admin certificate's subject), authorization, admission,
 * validation, storage and watch; in process it skips the TLS handshake, encryption and the kernel's
 * sockets, which at a thousand nodes competed with the nodes' connections for the one event loop.
 */
import { X509Certificate } from 'node:crypto';
import type { ClientConfig } from '../kube/client.ts';
import type { ApiServer } from './api/http-server.ts';
import { subjectOfCertificate } from './api/in-process-connection.ts';

export const controllersLoopbacks = ['in-process', 'tcp'] as const;
export type ControllersLoopback = (typeof controllersLoopbacks)[number];

/** The client settings of a loop that talks to this server as `identity` (an admin certificate). */
export function loopbackClientConfig(
  loopback: ControllersLoopback,
  api: Pick<ApiServer, 'connectInProcess'>,
  identity: { server: string; ca: string; cert: string; key: string },
): ClientConfig {
  if (loopback === 'tcp') return identity;
  const subject = subjectOfCertificate(new X509Certificate(identity.cert).subject);
  return { ...identity, connect: () => api.connectInProcess(subject) };
}
