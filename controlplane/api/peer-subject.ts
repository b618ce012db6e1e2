/**
 * The verified client certificate's subject of a TLS connection, read once per connection.
 * getPeerCertificate() builds a fresh object of the whole certificate on every call (8% of the
 * server's CPU at 300 nodes when called per request); a keep-alive connection's peer never
 * changes, so the subject is kept with the socket.
 */
import type { TLSSocket } from 'node:tls';

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
