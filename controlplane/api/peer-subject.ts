/**
 * The verified client certificate's subject of a TLS connection, read once per connection.
 * getPeerCertificate() builds a fresh object of the whole certificate on every call (8% of the
 * server's CPU at 300 nodes when called per request); a keep-alive connection's peer never
 * changes, so the subject is kept with the socket.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { TLSSocket } from 'node:tls';

/**
 * The TLS connection a request came on, one object per connection. Over HTTP/2 each request's
 * `socket` is a new stand-in for the session's socket, so a cache keyed by it never hit (the
 * whole certificate was rebuilt per request: 9 % of the server's CPU under the api bench); the
 * session's own `socket` is the same object for the session's life.
 */
export function connectionOf(req: IncomingMessage): TLSSocket {
  const session = (req as unknown as Partial<Http2ServerRequest>).stream?.session;
  return (session?.socket ?? req.socket) as TLSSocket;
}

type Subject = Record<string, string | string[]>;

const subjects = new WeakMap<TLSSocket, Subject | null>();

export function peerSubject(socket: TLSSocket): Subject | undefined {
  let subject = subjects.get(socket);
  if (subject === undefined) {
    const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
    subject = peer && peer.subject ? (peer.subject as unknown as Subject) : null;
    subjects.set(socket, subject);
  }
  return subject ?? undefined;
}

/** The connection's client certificate's notAfter (ms), or null when it presented none that verified. */
const expiries = new WeakMap<TLSSocket, number | null>();

/** How the TLS layer words a certificate refused for its dates alone. */
const outOfDate = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * Whether the connection's client certificate is out of date now: refused at the handshake for its
 * dates, or expired since on a connection kept open. Upstream verifies the certificate on every
 * request, so a kept-alive connection does not outlive its certificate, and an expired certificate
 * is 401 Unauthorized rather than an anonymous request.
 */
export function peerCertificateOutOfDate(socket: TLSSocket, now: number = Date.now()): boolean {
  if (!socket.authorized)
    return outOfDate.has(
      (socket.authorizationError as unknown as { code?: string } | undefined)?.code ??
        String(socket.authorizationError ?? ''),
    );
  let notAfter = expiries.get(socket);
  if (notAfter === undefined) {
    const validTo = socket.getPeerCertificate().valid_to;
    notAfter = validTo ? Date.parse(validTo) : null;
    expiries.set(socket, notAfter);
  }
  return notAfter !== null && now > notAfter;
}
