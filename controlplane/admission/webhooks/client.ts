/**
 * Calls one admission webhook: POSTs the AdmissionReview over HTTPS to its URL or to an endpoint
 * of its Service, trusting only its caBundle (or the system's roots when it has none), within its
 * timeout, and returns the parsed answer. Failures are CallFailure with upstream's wording
 * (`failed to call webhook: Post "<url>": ...`); the failure policy is the dispatcher's business.
 */
import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import type { KubeObject } from '../../../kube/types.ts';
import { serviceEndpoint } from '../../api/service-endpoint.ts';

type Any = Record<string, any>;

/** What the client needs to find a webhook behind a Service, and to reach it. */
export interface ServiceLookups {
  service(namespace: string, name: string): Promise<KubeObject | undefined>;
  endpointSlices(namespace: string): Promise<readonly KubeObject[]>;
  /**
   * The connections to a Service's endpoints (pods), when the server reaches the cluster through
   * an egress proxy (`--kubelet-egress-socket`) as upstream's egress selector does; absent: dialled
   * directly. URL webhooks are always dialled directly.
   */
  readonly endpointConnections?: Agent;
}

export class CallFailure extends Error {
  /**
   * What went wrong without the admission plugins' `failed to call webhook: ` prefix, for callers
   * that word the failure their own way (conversion: `conversion webhook for <kind> failed: ...`).
   */
  readonly detail: string;
  constructor(message: string, detail: string = message) {
    super(message);
    this.detail = detail;
  }
}

const callFailure = (detail: string) => new CallFailure(`failed to call webhook: ${detail}`, detail);

/**
 * Connections kept open between calls, as upstream's webhook clients keep theirs: a TLS handshake
 * per write would cost more than most webhooks take to answer. Node's agent keeps a pool per
 * host, port, server name and trusted CA, so a webhook whose caBundle changes gets new connections.
 */
const connections = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, scheduling: 'lifo' });

/**
 * The most of an answer that is read: a patch of the largest storable object (1.5 MiB) fits many
 * times over; a webhook that sends more is broken, and must not fill the server's memory.
 */
const maxAnswerBytes = 16 * 1024 * 1024;

interface Target {
  readonly url: URL;
  /** Absent: the URL's host. */
  readonly serverName?: string;
  /** Where to connect, when it is not the URL's host (a Service's endpoint). */
  readonly connectTo?: { host: string; port: number };
}

async function targetOf(clientConfig: Any, lookups: ServiceLookups, timeoutSeconds: number): Promise<Target> {
  if (typeof clientConfig.url === 'string') {
    const url = new URL(clientConfig.url);
    url.searchParams.set('timeout', `${timeoutSeconds}s`);
    return { url };
  }
  const ref = clientConfig.service as Any;
  const port = typeof ref.port === 'number' ? ref.port : 443;
  const path = typeof ref.path === 'string' && ref.path !== '' ? ref.path : '/';
  const url = new URL(`https://${ref.name}.${ref.namespace}.svc:${port}${path}`);
  url.searchParams.set('timeout', `${timeoutSeconds}s`);
  let endpoint: ReturnType<typeof serviceEndpoint>;
  try {
    endpoint = serviceEndpoint(
      { namespace: ref.namespace, name: ref.name, port },
      await lookups.service(ref.namespace, ref.name),
      await lookups.endpointSlices(ref.namespace),
    );
  } catch (err) {
    throw callFailure((err as Error).message);
  }
  return { url, serverName: endpoint.serverName, connectTo: { host: endpoint.host, port: endpoint.port } };
}

/** Node's codes for a serving certificate that no trusted CA (the caBundle) signed. */
const untrustedCertificate = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** Go's words for the usual network failures, which clients and people search for. */
function networkError(err: NodeJS.ErrnoException, address: string): string {
  if (err.code === 'ECONNREFUSED') return `dial tcp ${address}: connect: connection refused`;
  if (err.code !== undefined && untrustedCertificate.has(err.code))
    return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'context deadline exceeded';
  return err.message;
}

export async function callWebhook(
  clientConfig: Any,
  review: Any,
  timeoutSeconds: number,
  lookups: ServiceLookups,
): Promise<unknown> {
  const target = await targetOf(clientConfig, lookups, timeoutSeconds);
  const address = target.connectTo
    ? `${target.connectTo.host}:${target.connectTo.port}`
    : `${target.url.hostname}:${target.url.port || 443}`;
  const shownUrl = target.url.toString();
  const body = JSON.stringify(review);
  const ca =
    typeof clientConfig.caBundle === 'string' && clientConfig.caBundle !== ''
      ? Buffer.from(clientConfig.caBundle, 'base64').toString('utf8')
      : undefined;
  const signal = AbortSignal.timeout(timeoutSeconds * 1000);
  const serverName = target.serverName ?? target.url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const fail = (message: string) => reject(callFailure(message));
    const req = request(
      {
        method: 'POST',
        host: target.connectTo?.host ?? target.url.hostname.replace(/^\[|\]$/g, ''),
        port: target.connectTo?.port ?? (Number(target.url.port) || 443),
        path: `${target.url.pathname}${target.url.search}`,
        // an IP address is checked against the certificate's IP SANs without SNI (RFC 6066)
        ...(serverName !== undefined && isIP(serverName) === 0 ? { servername: serverName } : {}),
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'Content-Length': Buffer.byteLength(body),
        },
        ...(ca !== undefined ? { ca } : {}),
        signal,
        agent: target.connectTo !== undefined ? (lookups.endpointConnections ?? connections) : connections,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= maxAnswerBytes) chunks.push(c);
          else if (!res.destroyed) {
            res.destroy();
            reject(
              new CallFailure(`received invalid webhook response: the answer is larger than ${maxAnswerBytes} bytes`),
            );
          }
        });
        res.on('error', (err) => fail(`Post "${shownUrl}": ${networkError(err, address)}`));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300)
            return fail(
              `an error on the server (${JSON.stringify(text.slice(0, 256))}) has prevented the request from succeeding`,
            );
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new CallFailure('received invalid webhook response: the answer is not JSON'));
          }
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (signal.aborted) return fail(`Post "${shownUrl}": context deadline exceeded`);
      fail(`Post "${shownUrl}": ${networkError(err, address)}`);
    });
    req.end(body);
  });
}
