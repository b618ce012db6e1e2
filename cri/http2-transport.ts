/**
 * gRPC calls (unary and server-streaming) to a unix socket over one HTTP/2 connection, on Node's
 * own http2 module: what both a short command (`bosun cri ps`) and the long-lived agent need,
 * without loading @grpc/grpc-js (which, with the TLS, DNS and compression modules it pulls in,
 * costs a short command a third of its CPU and the agent ~17 MiB of memory).
 *
 * The connection is made by the first call and kept. When it goes away (containerd restarts, the
 * socket is removed, the runtime sends GOAWAY) the next call makes a new one at once; the calls
 * in flight on a lost connection fail with UNAVAILABLE "Connection dropped", as grpc-js reports
 * them, so callers' retry and "runtime down" handling see the same errors from either transport.
 * Like grpc-js's, an idle connection does not keep the process alive, and there is no keepalive
 * (grpc-js sends no pings unless asked; a unix socket's loss is seen at once anyway).
 *
 * Framing and status decoding are in grpc-framing.ts.
 */
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';
import { connect as connectSocket } from 'node:net';
import { GrpcStatus } from './errors.ts';
import {
  frameMessage,
  MessageReader,
  outcomeOfResponse,
  requestHeaders,
  transportFailure,
  type TransportFailure,
} from './grpc-framing.ts';

interface CallSettings {
  /** When the call gives up (ms since the epoch); sent to the runtime as grpc-timeout too. */
  readonly deadline?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** What the CRI client needs of a transport: both calls fail with a GrpcFailure. */
export interface GrpcTransport {
  unary(path: string, request: Buffer, settings: CallSettings): Promise<Buffer>;
  /** The response messages; the call starts at the first `next()` and is cancelled when iteration stops. */
  serverStream(path: string, request: Buffer, settings: CallSettings): AsyncIterable<Buffer>;
  close(): void;
}

/** What a call delivers to its caller: each message, then exactly one end (null when OK). */
interface CallSink {
  message(bytes: Buffer): void;
  end(failure: TransportFailure | null): void;
}

interface CallHandle {
  /** Ends the call now with this failure (CANCELLED when the caller stops listening). */
  fail(failure: TransportFailure): void;
  /** Flow control: a slow reader stops the runtime's sending through HTTP/2's window. */
  pause(): void;
  resume(): void;
}

/** One connection and what the calls on it need to know when it goes. */
interface Connection {
  readonly session: ClientHttp2Session;
  /** The socket connected; a failure before that is "No connection established". */
  connected: boolean;
  /** The connection is gone (closed, failed) or refused new streams (GOAWAY). */
  gone: boolean;
  lastError: Error | undefined;
  readonly calls: Set<CallHandle>;
}

/** setTimeout fires at once for delays past 2^31-1 ms (~24.8 days): longer deadlines re-arm. */
const longestTimerMs = 2_147_483_647;

/** Streamed messages held for a slow reader before the stream is paused. */
const streamHighWater = 16;

const cancelledOnClient = () => transportFailure(GrpcStatus.CANCELLED, 'Cancelled on client');

export class Http2Transport implements GrpcTransport {
  readonly #socketPath: string;
  readonly #maxBytes: number;
  #current: Connection | undefined;
  #closed = false;

  constructor(socketPath: string, maxMessageBytes: number) {
    this.#socketPath = socketPath;
    this.#maxBytes = maxMessageBytes;
  }

  /** The connection new calls go on: the current one, or a new one when it is gone. */
  #connection(): Connection {
    const current = this.#current;
    if (current !== undefined && !current.gone && !current.session.destroyed && !current.session.closed) return current;
    const session = connect('http://localhost', {
      createConnection: () => connectSocket(this.#socketPath),
      // as grpc-js: Node's 10 MB default refuses streams under load with large messages
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
    });
    const connection: Connection = { session, connected: false, gone: false, lastError: undefined, calls: new Set() };
    session.unref();
    session.on('connect', () => {
      connection.connected = true;
    });
    session.on('error', (err) => {
      connection.lastError = err;
      connection.gone = true;
    });
    // streams in flight finish on the old connection; new calls go on a new one
    session.on('goaway', () => {
      connection.gone = true;
    });
    session.on('close', () => {
      connection.gone = true;
      // a call whose stream has not reported its end by now lost it with the connection
      setImmediate(() => {
        for (const call of connection.calls) call.fail(this.#lostConnection(connection));
      });
    });
    if (this.#current !== undefined && this.#current.calls.size === 0) this.#current.session.close();
    this.#current = connection;
    return connection;
  }

  #lostConnection(connection: Connection): TransportFailure {
    if (connection.connected) return transportFailure(GrpcStatus.UNAVAILABLE, 'Connection dropped');
    const cause = connection.lastError?.message ?? 'the connection closed';
    return transportFailure(GrpcStatus.UNAVAILABLE, `No connection established. Last error: ${cause}`);
  }

  /**
   * Starts one call; every outcome, even an immediate refusal, reaches the sink asynchronously.
   * A stream the runtime refused unprocessed (REFUSED_STREAM, as after its GOAWAY) is sent once
   * more on a new connection: grpc-js's transparent retry.
   */
  #start(path: string, request: Buffer, settings: CallSettings, sink: CallSink): CallHandle {
    let finished = false;
    let stream: ClientHttp2Stream | undefined;
    let connection: Connection | undefined;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => handle.fail(cancelledOnClient());
    const leave = () => {
      if (connection === undefined) return;
      connection.calls.delete(handle);
      if (connection.calls.size === 0) connection.session.unref();
      connection = undefined;
    };
    const finish = (failure: TransportFailure | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      settings.signal?.removeEventListener('abort', onAbort);
      leave();
      if (stream !== undefined && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      sink.end(failure);
    };
    const handle: CallHandle = {
      fail: finish,
      pause: () => stream?.pause(),
      resume: () => stream?.resume(),
    };
    const refuse = (failure: TransportFailure) => {
      queueMicrotask(() => finish(failure));
      return handle;
    };

    const body = frameMessage(request, this.#maxBytes);
    if (body instanceof Error) return refuse(body);
    if (settings.signal?.aborted) return refuse(cancelledOnClient());
    if (this.#closed) return refuse(transportFailure(GrpcStatus.UNAVAILABLE, 'Channel has been shut down'));

    /** Sends the request on the current connection; false when no connection would take it. */
    const send = (retried: boolean): TransportFailure | undefined => {
      const headers = requestHeaders(path, settings.deadline, Date.now());
      let sent: ClientHttp2Stream;
      let on: Connection;
      try {
        on = this.#connection();
        sent = on.session.request(headers);
      } catch {
        // a connection that cannot take another stream (out of stream IDs, torn down): one more try on a new one
        if (this.#current !== undefined) this.#current.gone = true;
        try {
          on = this.#connection();
          sent = on.session.request(headers);
        } catch (err) {
          const cause = err instanceof Error ? err.message : String(err);
          return transportFailure(GrpcStatus.UNAVAILABLE, `No connection established. Last error: ${cause}`);
        }
      }
      stream = sent;
      connection = on;
      on.calls.add(handle);
      if (on.calls.size === 1) on.session.ref();

      const reader = new MessageReader(this.#maxBytes);
      let responseHeaders: IncomingHttpHeaders | undefined;
      let trailers: IncomingHttpHeaders | undefined;
      sent.on('response', (h) => {
        responseHeaders = h;
      });
      sent.on('trailers', (t) => {
        trailers = t;
      });
      sent.on('data', (chunk: Buffer) => {
        if (finished) return;
        const messages = reader.push(chunk);
        if (messages instanceof Error) {
          finish(messages);
          return;
        }
        for (const message of messages) if (!finished) sink.message(message);
      });
      // every stream error is followed by 'close', where the outcome is decided
      sent.on('error', () => {});
      sent.on('close', () => {
        // after the session's own 'error', which says why the connection failed
        process.nextTick(() => {
          if (finished || stream !== sent) return;
          const status = trailers ?? responseHeaders ?? {};
          if (status['grpc-status'] === undefined) {
            // the connection went: the session's 'close' fails the call, once it knows why
            if (on.session.destroyed) return;
            if (sent.rstCode === constants.NGHTTP2_REFUSED_STREAM && responseHeaders === undefined && !retried) {
              on.gone = true;
              leave();
              const failure = send(true);
              if (failure !== undefined) finish(failure);
              return;
            }
            if (sent.rstCode !== constants.NGHTTP2_NO_ERROR) {
              finish(failureOfReset(sent.rstCode));
              return;
            }
            // A runtime shutting down may end its streams just before its GOAWAY and the socket's
            // end: seen within this turn, that is the connection dropping, not a call's own end
            // (grpc-js's own answer here depends on which event it sees first).
            setImmediate(() => {
              if (finished) return;
              if (on.gone || on.session.destroyed) finish(this.#lostConnection(on));
              else finish(outcomeOfResponse(responseHeaders ?? {}, trailers, sent.rstCode));
            });
            return;
          }
          const outcome = outcomeOfResponse(responseHeaders ?? {}, trailers, sent.rstCode);
          if (outcome === null && reader.leftoverBytes > 0) {
            finish(transportFailure(GrpcStatus.INTERNAL, 'the response ended inside a message'));
            return;
          }
          finish(outcome);
        });
      });
      sent.end(body);
      return undefined;
    };

    const failure = send(false);
    if (failure !== undefined) return refuse(failure);
    settings.signal?.addEventListener('abort', onAbort, { once: true });
    if (settings.deadline !== undefined) {
      const deadline = settings.deadline;
      const arm = () => {
        const left = deadline - Date.now();
        timer =
          left > longestTimerMs
            ? setTimeout(arm, longestTimerMs)
            : setTimeout(() => finish(transportFailure(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')), left);
      };
      arm();
    }
    return handle;
  }

  unary(path: string, request: Buffer, settings: CallSettings): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      let answer: Buffer | undefined;
      const handle = this.#start(path, request, settings, {
        message: (bytes) => {
          if (answer === undefined) answer = bytes;
          else handle.fail(transportFailure(GrpcStatus.UNIMPLEMENTED, 'Too many responses received'));
        },
        end: (failure) => {
          if (failure !== null) reject(failure);
          else if (answer === undefined) reject(transportFailure(GrpcStatus.UNIMPLEMENTED, 'No message received'));
          else resolve(answer);
        },
      });
    });
  }

  async *serverStream(path: string, request: Buffer, settings: CallSettings): AsyncGenerator<Buffer> {
    const queue: Buffer[] = [];
    let ended: { failure: TransportFailure | null } | undefined;
    let wake: (() => void) | undefined;
    const handle = this.#start(path, request, settings, {
      message: (bytes) => {
        queue.push(bytes);
        if (queue.length === streamHighWater) handle.pause();
        wake?.();
      },
      end: (failure) => {
        ended = { failure };
        wake?.();
      },
    });
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          if (queue.length === streamHighWater / 2) handle.resume();
          yield next;
          continue;
        }
        if (ended !== undefined) {
          if (ended.failure !== null) throw ended.failure;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      handle.fail(cancelledOnClient());
    }
  }

  /** Calls in flight finish; new ones are refused (the client says so before they get here). */
  close(): void {
    this.#closed = true;
    this.#current?.session.close();
  }
}

/** A stream the runtime reset without a gRPC status, worded as grpc-js words it. */
function failureOfReset(rstCode: number): TransportFailure {
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return transportFailure(GrpcStatus.UNAVAILABLE, 'Stream refused by server');
    case constants.NGHTTP2_CANCEL:
      return transportFailure(GrpcStatus.CANCELLED, 'Call cancelled');
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return transportFailure(GrpcStatus.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded');
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return transportFailure(GrpcStatus.PERMISSION_DENIED, 'Protocol not secure enough');
    case constants.NGHTTP2_INTERNAL_ERROR:
      return transportFailure(GrpcStatus.INTERNAL, `Received RST_STREAM with code ${rstCode} (Internal server error)`);
    default:
      return transportFailure(GrpcStatus.INTERNAL, `Received RST_STREAM with code ${rstCode}`);
  }
}
