/**
 * A connection between two ends inside this process, with no socket and no TLS under it: what one
 * end writes, the other reads, in order. The server's own scheduler and controllers reach its API
 * through such pairs, so their requests take the same HTTP/1.1 handler chain as any client's
 * without a loopback TCP connection, a TLS handshake and encryption on both sides.
 *
 * The server end carries the client-certificate subject it was opened for. Only `openInProcess`
 * binds one, to an end it has just made: a connection from outside is never such an end, so no
 * header, path or certificate a remote client sends can claim the binding.
 */
import { Duplex } from 'node:stream';

/** A certificate subject in the shape a TLS socket reports its peer's (`{ CN, O }`). */
export type CertificateSubject = Readonly<Record<string, string | string[]>>;

const boundSubjects = new WeakMap<object, CertificateSubject>();

/** Bytes written to one end that its peer's reader has not taken, before the writer waits. */
const unreadBytes = 1024 * 1024;

/**
 * One end of the pair. It answers the parts of net.Socket's interface that Node's HTTP client,
 * agent and server call (idle timeouts, keep-alive, ref/unref, addresses), so both sides treat it
 * as they would a TCP connection: idle timeouts fire, and closing either end closes the other, as
 * a reset does.
 */
class InProcessEnd extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number | undefined;
  readonly localAddress = '127.0.0.1';
  /** Undefined on the server's end: it listens on no port (what it serves falls back to its configured one). */
  readonly localPort: number | undefined;
  /** The idle time after which 'timeout' is emitted (0: never), as net.Socket's `timeout`. */
  timeout = 0;
  #peer: InProcessEnd | undefined;
  /** The peer's write that waits until this end's reader takes more. */
  #resumeWriter: (() => void) | undefined;
  #idle: NodeJS.Timeout | undefined;

  constructor(remoteAddress: string, ports: { local?: number; remote?: number }) {
    // both directions end on their own (HTTP's half-close), as a TCP socket with allowHalfOpen; what
    // the peer wrote and this end's reader has not taken yet is held up to about what a loopback
    // TCP connection's kernel buffers hold, so that a watch's reader that falls a little behind
    // meets the same slow-reader limits (watch-stream.ts) as it would over TCP
    super({ allowHalfOpen: true, readableHighWaterMark: unreadBytes });
    this.remoteAddress = remoteAddress;
    this.remotePort = ports.remote;
    this.localPort = ports.local;
  }

  pairWith(peer: InProcessEnd): void {
    this.#peer = peer;
  }

  /** What the peer wrote: queued for this end's reader; the peer's write completes once it is taken. */
  deliver(chunk: Buffer, done: () => void): void {
    this.#touch();
    if (this.push(chunk)) done();
    else this.#resumeWriter = done;
  }

  override _read(): void {
    const resume = this.#resumeWriter;
    this.#resumeWriter = undefined;
    resume?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#touch();
    const peer = this.#peer;
    if (peer === undefined || peer.destroyed) return done(new Error('the connection is closed'));
    peer.deliver(chunk, () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    const peer = this.#peer;
    if (peer !== undefined && !peer.destroyed) peer.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#resumeWriter = undefined;
    const peer = this.#peer;
    this.#peer = undefined;
    // the other side sees the connection go, as after a reset
    if (peer !== undefined && !peer.destroyed) peer.destroy();
    done(err);
  }

  /**
   * As net.Socket: 'timeout' after `ms` without reads or writes; 0 turns it off and takes
   * `onTimeout` off again (HTTP's client and server pass the same callback to do both).
   */
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (this.destroyed) return this;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = undefined;
    this.timeout = ms;
    if (ms === 0) {
      if (onTimeout) this.off('timeout', onTimeout);
      return this;
    }
    this.#idle = setTimeout(() => this.emit('timeout'), ms);
    this.#idle.unref();
    if (onTimeout) this.once('timeout', onTimeout);
    return this;
  }

  #touch(): void {
    this.#idle?.refresh();
  }

  // nothing below them to tune: there is no kernel socket
  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

let nextPort = 1;

/**
 * A fresh pair: the client end for an HTTP client to write requests on, the server end for an HTTP
 * server's 'connection' event, bound to `subject` (what `boundSubject` reads back).
 */
export function openInProcess(subject: CertificateSubject): { client: Duplex; server: Duplex } {
  // distinct made-up ports, so that whatever tells connections apart by address and port still can
  const port = nextPort++;
  const client = new InProcessEnd('127.0.0.1', { local: port });
  const server = new InProcessEnd('127.0.0.1', { remote: port });
  client.pairWith(server);
  server.pairWith(client);
  boundSubjects.set(server, Object.freeze({ ...subject }));
  return { client, server };
}

/** The subject an in-process server end was opened for; undefined for every other connection. */
export function boundSubject(socket: object): CertificateSubject | undefined {
  return boundSubjects.get(socket);
}

/**
 * A certificate's subject as node:crypto's X509Certificate writes it (`CN=a\nO=b\nO=c`), in the
 * shape a TLS socket reports a peer's (a field given more than once, such as several O, as a list).
 */
export function subjectOfCertificate(x509Subject: string): CertificateSubject {
  const subject: Record<string, string | string[]> = {};
  for (const line of x509Subject.split('\n')) {
    const equals = line.indexOf('=');
    if (equals <= 0) continue;
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1);
    const seen = subject[key];
    subject[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return subject;
}
