/**
 * The API server's TLS listener, offering HTTP/2 and HTTP/1.1 by ALPN as kube-apiserver does. One
 * TLS server accepts every connection; a connection that agreed on `h2` goes to an HTTP/2 server,
 * any other (`http/1.1`, or a client that offered no ALPN at all) to an HTTP/1.1 server, both fed
 * the already-secured socket. The HTTP/1.1 path, with its upgrades (exec, attach, port-forward,
 * websocket watches), stays exactly what it was; both serve requests with the same handler.
 *
 * HTTP/2 settings follow kube-apiserver's (k8s.io/apiserver secure_serving.go): 100 concurrent
 * streams per connection (its default when --http2-max-streams-per-connection is 0), a 256 KiB
 * receive window and frame size per stream (the 99th percentile of object sizes), and a connection
 * window of 100 such streams, so that one stream its reader leaves unread cannot use up the window
 * its neighbours need. Node's own flood guards (invalid frames, refused streams, settings and
 * header pairs) stay at their defaults; only the session memory ceiling is raised, from 10 to
 * 32 MB, so that it holds the 25 MiB connection window.
 */
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  constants as h2,
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type Http2Stream,
  type ServerHttp2Session,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { PrometheusText } from '../../kube/prometheus-text.ts';
import { withoutConnectionHeaders } from './h2-response-guard.ts';

/** Streams one HTTP/2 connection may have open at once (kube-apiserver's default). */
export const maxStreamsPerConnection = 100;
/** Receive window and largest frame per stream: most API objects fit in one frame. */
const streamWindowBytes = 256 * 1024;
/** Largest header block accepted, as Go's server (MaxHeaderBytes 1 MiB). */
const maxHeaderListBytes = 1024 * 1024;
/** Cancelled streams (RST_STREAM from the client) a session may send at once, and then per second. */
const streamResetBurst = 2_000;
const streamResetsPerSecond = 200;
/** How long a closing server lets HTTP/2 clients read their GOAWAY before the connections go. */
const goawayGraceMs = 50;

type WireProtocol = 'h2' | 'http/1.1';

interface ProtocolFrontOptions {
  readonly tls: SecureContextOptions;
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Idle time before an HTTP/1.1 keep-alive connection is closed. */
  readonly keepAliveTimeoutMs: number;
  /** Time an HTTP/2 connection may stay open without a single stream before it is closed. */
  readonly h2IdleTimeoutMs?: number;
}

/**
 * kube-apiserver's server IdleTimeout (secure_serving.go: 90 s), which Go's HTTP/2 server applies
 * to a connection with no open stream. Pings and settings frames do not count: a client that only
 * keeps its connection alive holds a socket, TLS state and a 25 MiB window it does not use.
 */
const defaultH2IdleTimeoutMs = 90_000;

/** The protocol a TLS connection agreed on: `h2` only when ALPN chose it, HTTP/1.1 otherwise. */
function wireProtocolOf(socket: Pick<TLSSocket, 'alpnProtocol'>): WireProtocol {
  return socket.alpnProtocol === 'h2' ? 'h2' : 'http/1.1';
}

export class ProtocolFront {
  readonly #tls;
  readonly #http1;
  readonly #http2;
  readonly #sockets = new Set<TLSSocket>();
  readonly #sessions = new Set<Http2Session>();
  readonly #open: Record<WireProtocol, number> = { h2: 0, 'http/1.1': 0 };
  readonly #accepted: Record<WireProtocol, number> = { h2: 0, 'http/1.1': 0 };
  readonly #h2IdleTimeoutMs: number;

  constructor(options: ProtocolFrontOptions) {
    this.#h2IdleTimeoutMs = options.h2IdleTimeoutMs ?? defaultH2IdleTimeoutMs;
    this.#tls = createTlsServer({
      ...options.tls,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    this.#http1 = createHttp1Server(options.onRequest);
    this.#http1.keepAliveTimeout = options.keepAliveTimeoutMs;
    this.#http1.on('upgrade', options.onUpgrade);
    this.#http2 = createHttp2Server({
      maxSessionMemory: 32, // MB: room for the connection window below
      // nghttp2's guard against rapid-reset floods ends a session past 1,000 cancelled streams
      // plus 33 a second: a client cancelling its 100 watches at once a dozen times (an informer
      // restart, a benchmark round) lost its connection and every request on it. A flood of
      // thousands still ends its session.
      streamResetBurst: streamResetBurst,
      streamResetRate: streamResetsPerSecond,
      settings: {
        maxConcurrentStreams: maxStreamsPerConnection,
        initialWindowSize: streamWindowBytes,
        maxFrameSize: streamWindowBytes,
        maxHeaderListSize: maxHeaderListBytes,
      },
    });
    this.#http2.on('session', (session: ServerHttp2Session) => this.#adopt(session));
    this.#http2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) =>
      // the handler is written against HTTP/1.1's request and response; the compat objects have the
      // same surface, and the guard keeps HTTP/1.1-only headers from throwing on the way out
      options.onRequest(req as unknown as IncomingMessage, withoutConnectionHeaders(res) as unknown as ServerResponse),
    );
    this.#tls.on('secureConnection', (socket: TLSSocket) => this.#dispatch(socket));
  }

  #dispatch(socket: TLSSocket): void {
    const protocol = wireProtocolOf(socket);
    this.#sockets.add(socket);
    this.#open[protocol]++;
    this.#accepted[protocol]++;
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#open[protocol]--;
    });
    (protocol === 'h2' ? this.#http2 : this.#http1).emit('connection', socket);
  }

  #adopt(session: Http2Session): void {
    this.#sessions.add(session);
    session.once('close', () => this.#sessions.delete(session));
    // room for every stream's window on the connection, as kube-apiserver sizes it
    session.once('localSettings', () => session.setLocalWindowSize(streamWindowBytes * maxStreamsPerConnection));
    this.#closeWhenIdle(session);
  }

  /** Closes a session (GOAWAY, then the socket) once it has had no open stream for the idle timeout. */
  #closeWhenIdle(session: Http2Session): void {
    let open = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer = setTimeout(() => {
        if (open === 0 && !session.closed) session.close();
      }, this.#h2IdleTimeoutMs);
      timer.unref();
    };
    session.on('stream', (stream: Http2Stream) => {
      open++;
      clearTimeout(timer);
      stream.once('close', () => {
        if (--open === 0) arm();
      });
    });
    session.once('close', () => clearTimeout(timer));
    arm();
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#tls.once('error', reject);
      this.#tls.listen(port, host, () => {
        this.#tls.off('error', reject);
        resolve();
      });
    });
    // the HTTP/1.1 server never listens itself, but its header and request time limits (slow
    // clients) are checked only from when it has: let it start them
    this.#http1.emit('listening');
    const address = this.#tls.address();
    return typeof address === 'object' && address !== null ? address.port : port;
  }

  get listening(): boolean {
    return this.#tls.listening;
  }

  /**
   * Stops accepting, tells HTTP/2 clients by GOAWAY that no new stream will be served, then ends
   * every connection (long watches included, as before); safe to call twice.
   */
  async close(): Promise<void> {
    if (!this.#tls.listening) return;
    const closed = new Promise<void>((resolve) => this.#tls.close(() => resolve()));
    for (const session of this.#sessions) if (!session.closed) session.goaway(h2.NGHTTP2_NO_ERROR);
    if (this.#sessions.size > 0) await new Promise((resolve) => setTimeout(resolve, goawayGraceMs));
    for (const socket of this.#sockets) socket.destroy();
    this.#http1.close(); // stops its time-limit checks
    await closed;
  }

  /** Serves new key material from the next handshake on; open connections keep theirs. */
  setSecureContext(tls: SecureContextOptions): void {
    this.#tls.setSecureContext(tls);
  }

  /** Open connections and connections accepted since start, by protocol. */
  connections(): { open: Record<WireProtocol, number>; accepted: Record<WireProtocol, number> } {
    return { open: { ...this.#open }, accepted: { ...this.#accepted } };
  }

  /** Prometheus text for the connection counts (bosun's own names: upstream has none for this). */
  renderMetrics(): string {
    const b = new PrometheusText();
    b.family('bosun_apiserver_open_connections', 'gauge', 'Client connections open now, by negotiated protocol.');
    for (const [protocol, value] of Object.entries(this.#open))
      b.sample('bosun_apiserver_open_connections', { protocol }, value);
    b.family(
      'bosun_apiserver_connections_total',
      'counter',
      'Client connections accepted since start, by negotiated protocol.',
    );
    for (const [protocol, value] of Object.entries(this.#accepted))
      b.sample('bosun_apiserver_connections_total', { protocol }, value);
    return b.text();
  }
}
