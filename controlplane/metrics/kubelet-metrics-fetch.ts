/**
 * One GET of a kubelet's /metrics/resource, as the API server reaches kubelet ports for logs and
 * exec: opened by the KubeletDialer (directly or through the egress proxy), TLS with the API
 * server's kubelet client certificate, the kubelet checked against the cluster CA and its address.
 * The answer must be 200 and at most `maxBytes`: a kubelet that sends more, or answers nothing
 * before the signal aborts, fails its node's scrape and nothing else.
 */
import { request } from 'node:http';
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import type { KubeletDialer } from '../api/kubelet-dialer.ts';
import type { KubeletClientTls } from '../api/kubelet-proxy.ts';

export interface ScrapeTarget {
  readonly node: string;
  readonly host: string;
  readonly port: number;
}

/** The text of a kubelet's /metrics/resource; rejects on any failure. */
export type FetchResourceMetrics = (target: ScrapeTarget, signal: AbortSignal) => Promise<string>;

/** 110 pods of a few containers make well under 1 MiB; far more is not a kubelet to believe. */
const maxResourceMetricsBytes = 8 * 1024 * 1024;

/** TLS sessions kept per kubelet: more than this many kubelets start the memory again. */
const maxSessions = 10_000;

/** What one client identity keeps between scrapes: its context, and each kubelet's last session. */
interface ClientState {
  readonly tls: KubeletClientTls;
  readonly context: SecureContext;
  readonly sessions: Map<string, Buffer>;
}

async function openTls(target: ScrapeTarget, dial: KubeletDialer, client: ClientState): Promise<TLSSocket> {
  const raw = await dial(target.host, target.port);
  const key = `${target.host}:${target.port}`;
  const session = client.sessions.get(key);
  const socket = connect({
    socket: raw,
    host: target.host,
    secureContext: client.context,
    ...(session !== undefined ? { session } : {}),
  });
  socket.on('session', (next: Buffer) => {
    if (client.sessions.size >= maxSessions) client.sessions.clear();
    client.sessions.set(key, next);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', (err) => {
      raw.destroy();
      reject(err);
    });
  });
  return socket;
}

export function kubeletMetricsFetcher(
  dial: KubeletDialer,
  clientTls: () => KubeletClientTls,
  maxBytes = maxResourceMetricsBytes,
): FetchResourceMetrics {
  // one TLS context for every scrape until the certificate is renewed (building one parses the
  // key, the certificate and the CA again), and each kubelet's session resumed from one scrape to
  // the next (a full handshake signs with the client key and checks the kubelet's chain): for a
  // thousand nodes both held the event loop
  let client: ClientState | undefined;
  const current = () => {
    const tls = clientTls();
    if (client?.tls !== tls) client = { tls, context: createSecureContext(tls), sessions: new Map() };
    return client;
  };
  return async (target, signal) => {
    signal.throwIfAborted();
    const opening = openTls(target, dial, current());
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const abort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', abort, { once: true });
      opening.then(
        (s) => {
          signal.removeEventListener('abort', abort);
          if (signal.aborted) s.destroy();
          resolve(s);
        },
        (err: Error) => {
          signal.removeEventListener('abort', abort);
          reject(err);
        },
      );
    });
    signal.throwIfAborted();
    return new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: target.host,
          port: target.port,
          path: '/metrics/resource',
          headers: { Accept: 'text/plain' },
          createConnection: () => socket,
          signal,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            socket.destroy();
            return reject(new Error(`request failed, status: "${res.statusCode} ${res.statusMessage ?? ''}"`));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              socket.destroy();
              reject(new Error(`the answer is larger than ${maxBytes} bytes`));
            } else chunks.push(chunk);
          });
          res.on('end', () => {
            socket.end();
            resolve(Buffer.concat(chunks).toString('utf8'));
          });
          res.on('error', reject);
        },
      );
      req.on('error', (err) => {
        socket.destroy();
        reject(err);
      });
      req.end();
    });
  };
}
