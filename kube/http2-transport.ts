/**
 * KubeClient's HTTP/2 transport: requests and watches as streams of one TLS connection, as
 * client-go sends them. The connection is opened offering `h2` and `http/1.1` by ALPN; a server
 * that does not choose `h2` is remembered, and the client keeps its HTTP/1.1 path for it.
 *
 * Clients with the same server and TLS identity share one session (client-go shares a transport
 * per TLS configuration the same way), so a node agent's clients hold one connection between
 * them. A session that the server ends (GOAWAY, a broken connection, a failed keepalive ping) is
 * replaced by a new one for the next request; its open streams (watches) end, and their callers
 * resume them from their resourceVersion as they would after a broken HTTP/1.1 connection. A
 * stream that the server refused before handling it (GOAWAY, REFUSED_STREAM) is sent once more.
 *
 * An idle session does not keep the process alive (as an idle keep-alive socket does not).
 */
import {
  connect as connectHttp2,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';
import { isIP } from 'node:net';
import { PassThrough, pipeline } from 'node:stream';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { ApiError } from './errors.ts';

/** What the client reads of an answer: HTTP/1.1's IncomingMessage has this shape too. */
export interface StreamedResponse extends AsyncIterable<Buffer> {
  readonly statusCode?: number | undefined;
  destroy(): void;
}

interface Http2Identity {
  readonly server: string;
  readonly ca: string;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

interface Http2Request {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: Record<string, string | number>;
  readonly body: string | undefined;
  /** Idle time limit of the stream (absent: none, as for watches). */
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

/** client-go's HTTP/2 health check: a ping after 30 s read-idle, the connection gone without an answer in 15 s. */
const readIdleMs = 30_000;
const pingTimeoutMs = 15_000;
/**
 * New connections one stream may wait through while others fill them: the n-th of many waiters
 * needs about n / 100; 100 of them is 10,000 streams to one server from one client.
 */
const maxConnectAttempts = 100;

/**
 * Whether a stream that ended without an answer may be sent again on a new session: the server
 * refused it unhandled (REFUSED_STREAM, or it was never sent: GOAWAY, a session already gone), or
 * the connection went away under a read, which is harmless to repeat (as Go's HTTP/2 transport
 * retries requests lost with their connection). A write lost that way is reported, not repeated.
 */
/** Streams whose answer's headers arrived: the server has seen them, whatever happens next. */
const answered = new WeakSet<ClientHttp2Stream>();

function mayRetry(
  session: ClientHttp2Session,
  stream: ClientHttp2Stream,
  method: string,
  err: (Error & { code?: string }) | undefined,
): boolean {
  if (stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) return true;
  // Node's server answers a stream with ENHANCE_YOUR_CALM before any handler sees it when its count
  // of open streams still holds ones the client has just cancelled: unprocessed, like a refusal
  if (stream.rstCode === constants.NGHTTP2_ENHANCE_YOUR_CALM && !answered.has(stream)) return true;
  if (err?.code === 'ERR_HTTP2_GOAWAY_SESSION' || err?.code === 'ERR_HTTP2_INVALID_SESSION') return true;
  return (session.destroyed || session.closed) && (method === 'GET' || method === 'HEAD');
}

/**
 * One TLS identity's connection to one server: the session in use, the clients sharing it, and
 * whether the server speaks HTTP/2 at all.
 */
class SharedSession {
  readonly #identity: Http2Identity;
  /** Sessions that take new streams, oldest first. */
  readonly #sessions: ClientHttp2Session[] = [];
  /** Streams open or about to open, per session. */
  readonly #streams = new Map<ClientHttp2Session, number>();
  /** Sessions whose SETTINGS have arrived, with the stream limit they name. */
  readonly #limits = new WeakMap<ClientHttp2Session, number>();
  #connecting: Promise<ClientHttp2Session | undefined> | undefined;
  /** The server chose HTTP/1.1: every request of these clients goes there. */
  #http1Only = false;
  users = 0;

  constructor(identity: Http2Identity) {
    this.#identity = identity;
  }

  /**
   * A session with room for one more stream, held for it (give it back with `streamOpened` or
   * `giveBack`); undefined when the server has no h2. When every session is at the server's
   * stream limit another connection is opened, as Go's HTTP/2 transport does, so that watches
   * holding their streams for good never leave a request waiting behind them.
   */
  async acquire(): Promise<ClientHttp2Session | undefined> {
    for (let attempt = 0; ; attempt++) {
      if (this.#http1Only) return undefined;
      const free = this.#sessions.find((session) => this.#held(session) < this.#limit(session));
      if (free) return this.#hold(free);
      // Never a stream past a session's limit: Node queues it inside the session until one of the
      // session's streams ends, and watches never end, so it (and a request behind it) would wait
      // for good. Many waiters share each new connection; the ones it cannot take wait for the next.
      if (attempt >= maxConnectAttempts)
        throw new ApiError('ServiceUnavailable', `${this.#identity.server} has no room for another stream`);
      this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
      const fresh = await this.#connecting;
      if (fresh === undefined) return undefined;
      if (this.#held(fresh) < this.#limit(fresh)) return this.#hold(fresh);
    }
  }

  #held(session: ClientHttp2Session): number {
    return this.#streams.get(session) ?? 0;
  }

  /** Until its SETTINGS arrive, a server is taken to allow 100 streams (Go's and Node's assumption). */
  #limit(session: ClientHttp2Session): number {
    return this.#limits.get(session) ?? 100;
  }

  #hold(session: ClientHttp2Session): ClientHttp2Session {
    const held = this.#held(session) + 1;
    this.#streams.set(session, held);
    if (held === 1 && !session.destroyed) session.ref();
    return session;
  }

  /** Gives back a held stream that was never opened. */
  giveBack(session: ClientHttp2Session): void {
    if (session.destroyed) return void this.#streams.delete(session);
    const held = this.#held(session) - 1;
    this.#streams.set(session, held);
    // the connection keeps the process alive only while a stream is open
    if (held === 0 && !session.destroyed) session.unref();
  }

  async #connect(): Promise<ClientHttp2Session | undefined> {
    const url = new URL(this.#identity.server);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const tls = connectTls({
        host,
        port: Number(url.port || 443),
        ...(isIP(host) ? {} : { servername: host }),
        ca: this.#identity.ca,
        ...(this.#identity.cert ? { cert: this.#identity.cert, key: this.#identity.key } : {}),
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      tls.once('secureConnect', () => resolve(tls));
      tls.once('error', (err) =>
        reject(new ApiError('ServiceUnavailable', `connecting to ${this.#identity.server}: ${err.message}`)),
      );
    });
    if (socket.alpnProtocol !== 'h2') {
      this.#http1Only = true;
      socket.destroy();
      return undefined;
    }
    const session = connectHttp2(url.origin, { createConnection: () => socket });
    session.on('error', () => {}); // its streams carry the error to their callers
    session.on('remoteSettings', (settings) => {
      if (settings.maxConcurrentStreams !== undefined) this.#limits.set(session, settings.maxConcurrentStreams);
    });
    const forget = () => {
      const at = this.#sessions.indexOf(session);
      if (at >= 0) this.#sessions.splice(at, 1);
    };
    session.once('goaway', forget);
    session.once('close', () => {
      forget();
      this.#streams.delete(session);
    });
    this.#keepAlive(session);
    this.#sessions.push(session);
    session.unref();
    return session;
  }

  /**
   * Pings the session every 30 s; no answer within 15 s ends it, so that a connection the network
   * silently dropped is noticed (Node has no event for a frame read, so the ping is unconditional).
   */
  #keepAlive(session: ClientHttp2Session): void {
    const timer = setInterval(() => {
      if (session.closed || session.destroyed) return clearInterval(timer);
      const deadline = setTimeout(() => session.destroy(new Error('the server did not answer a ping')), pingTimeoutMs);
      deadline.unref();
      session.ping(() => clearTimeout(deadline));
    }, readIdleMs);
    timer.unref();
    session.once('close', () => clearInterval(timer));
  }

  /** Keeps the held stream counted until it closes. */
  streamOpened(session: ClientHttp2Session, stream: ClientHttp2Stream): void {
    stream.once('close', () => this.giveBack(session));
  }

  /** Ends the sessions: at once (destroy) or after their open streams (close). */
  end(immediately: boolean): void {
    for (const session of this.#sessions.splice(0)) {
      if (immediately) session.destroy();
      else session.close();
    }
  }
}

/** Sessions by server and TLS identity, shared by every client with the same ones. */
const sessions = new Map<string, SharedSession>();

function identityKey(identity: Http2Identity): string {
  return JSON.stringify([identity.server, identity.ca, identity.cert ?? '', identity.key ?? '']);
}

/** A client's handle on its shared session; `release` when the client closes or changes identity. */
export class Http2Transport {
  readonly #key: string;
  readonly #shared: SharedSession;
  #released = false;

  constructor(identity: Http2Identity) {
    this.#key = identityKey(identity);
    const shared = sessions.get(this.#key) ?? new SharedSession(identity);
    sessions.set(this.#key, shared);
    shared.users++;
    this.#shared = shared;
  }

  /** The answer's status and body stream, or undefined when the server speaks only HTTP/1.1. */
  async request(spec: Http2Request): Promise<StreamedResponse | undefined> {
    const session = await this.#shared.acquire();
    if (session === undefined) return undefined;
    try {
      return await this.#send(session, spec);
    } catch (err) {
      if (!(err instanceof RetryOnNewSession)) throw err;
      // once only: a server refusing every stream is down, not closing
      const next = await this.#shared.acquire();
      if (next === undefined) return undefined;
      return this.#send(next, spec).catch((again: unknown) => {
        throw again instanceof RetryOnNewSession ? again.failure : again;
      });
    }
  }

  #send(session: ClientHttp2Session, spec: Http2Request): Promise<StreamedResponse> {
    const what = `${spec.method} ${spec.path.split('?')[0]}`;
    return new Promise((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = session.request(
          { ':method': spec.method, ':path': spec.path, ...spec.headers },
          { endStream: spec.body === undefined, ...(spec.signal ? { signal: spec.signal } : {}) },
        );
      } catch (err) {
        // the session closed between being chosen and being used
        this.#shared.giveBack(session);
        reject(new RetryOnNewSession(new ApiError('ServiceUnavailable', `${what}: ${(err as Error).message}`)));
        return;
      }
      this.#shared.streamOpened(session, stream);
      if (spec.timeoutMs) {
        stream.setTimeout(spec.timeoutMs, () =>
          stream.destroy(new ApiError('Timeout', `${what} timed out after ${spec.timeoutMs} ms`)),
        );
      }
      const onError = (err: Error & { code?: string }) => {
        if (err instanceof ApiError) return reject(err);
        const failure = new ApiError('ServiceUnavailable', `${what}: ${err.message}`);
        reject(mayRetry(session, stream, spec.method, err) ? new RetryOnNewSession(failure) : failure);
      };
      stream.once('error', onError);
      stream.once('close', () => {
        // closed without an answer and without an error: refused, or reset, or its connection gone
        const failure = new ApiError('ServiceUnavailable', `${what}: the stream was reset (code ${stream.rstCode})`);
        reject(mayRetry(session, stream, spec.method, undefined) ? new RetryOnNewSession(failure) : failure);
      });
      stream.once('response', (headers: IncomingHttpHeaders) => {
        answered.add(stream);
        stream.off('error', onError);
        stream.on('error', () => {}); // from here on, reading the body reports it
        // The body is read from the stream at once into a buffer the caller reads from when it
        // gets to it. Node closes a stream whose END_STREAM has arrived even while its data is
        // still unread, and a read begun after that close fails with "Premature close", losing
        // an answer the server gave in full: under load, half of the reads started a few ms
        // after the headers failed so. The buffer keeps backpressure (the stream pauses while it
        // is full), and an error or a reset mid-body still reaches the reader through it.
        const body = new PassThrough();
        pipeline(stream, body, () => {});
        resolve({
          statusCode: Number(headers[':status']),
          [Symbol.asyncIterator]: () => body[Symbol.asyncIterator]() as AsyncIterator<Buffer>,
          destroy: () => body.destroy(),
        });
      });
      if (spec.body !== undefined) stream.end(spec.body);
    });
  }

  /** Leaves the shared session: the last client to leave closes it, after its open streams. */
  release(immediately: boolean): void {
    if (this.#released) return;
    this.#released = true;
    if (--this.#shared.users > 0) return;
    sessions.delete(this.#key);
    this.#shared.end(immediately);
  }
}

/** A failure of a stream the server never handled: the request may go again on a new session. */
class RetryOnNewSession extends Error {
  readonly failure: ApiError;

  constructor(failure: ApiError) {
    super(failure.message);
    this.failure = failure;
  }
}
