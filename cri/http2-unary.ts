/**
 * Unary gRPC calls over one HTTP/2 connection to a unix socket, on Node's own http2 module: what a
 * short-lived command (`bosun cri ps`) needs, without loading @grpc/grpc-js (which, with the TLS,
 * DNS and compression modules it loads, costs a third of such a command's CPU). Long-lived users
 * (the agent) keep grpc-js for its reconnection, keepalive and streaming.
 *
 * The wire format is gRPC's (PROTOCOL-HTTP2 in grpc/grpc): a POST to /package.Service/Method with
 * `content-type: application/grpc`, the message behind a 5-byte prefix (compressed flag, length),
 * and the outcome in the `grpc-status` and `grpc-message` trailers, or in the headers of a
 * response that has no body ("trailers-only"). Failures are reported as grpc-js reports them
 * (a gRPC status code and details), so errors.ts words them the same for either transport.
 */
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as connectSocket } from 'node:net';
import type { GrpcFailure } from './errors.ts';

/** One unary call's transport: the response message's bytes, or a rejection with a GrpcFailure. */
export interface UnaryTransport {
  call(
    path: string,
    request: Buffer,
    options: { deadline?: number | undefined; signal?: AbortSignal | undefined },
  ): Promise<Buffer>;
  close(): void;
}

/** gRPC status codes this transport reports itself (the server reports any). */
const Status = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** A response without a gRPC status: its HTTP status mapped as gRPC's spec maps it. */
function statusOfHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/** grpc-message is percent-encoded; a malformed one is shown as sent. */
function decodeMessage(text: string | string[] | undefined): string {
  const raw = Array.isArray(text) ? text.join(',') : (text ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

const failure = (code: number, details: string): GrpcFailure & Error =>
  Object.assign(new Error(`${code} ${details}`), { code, details });

/** The one message of a unary response body, or a failure. */
function messageOfBody(body: Buffer, maxBytes: number): Buffer | (GrpcFailure & Error) {
  if (body.length < 5) return failure(Status.INTERNAL, 'the response has no message');
  if (body[0] !== 0) return failure(Status.INTERNAL, 'the response message is compressed, which was not asked for');
  const length = body.readUInt32BE(1);
  if (length > maxBytes) {
    return failure(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${maxBytes})`);
  }
  if (body.length !== 5 + length)
    return failure(Status.INTERNAL, 'the response message is cut short or followed by more');
  return body.subarray(5);
}

export class Http2UnaryTransport implements UnaryTransport {
  readonly #socketPath: string;
  readonly #maxBytes: number;
  #session: ClientHttp2Session | undefined;
  /** Why the connection failed, for the calls it fails. */
  #connectError: Error | undefined;

  constructor(socketPath: string, maxBytes: number) {
    this.#socketPath = socketPath;
    this.#maxBytes = maxBytes;
  }

  #connection(): ClientHttp2Session {
    if (this.#session !== undefined && !this.#session.closed && !this.#session.destroyed) return this.#session;
    this.#connectError = undefined;
    const session = connect('http://localhost', { createConnection: () => connectSocket(this.#socketPath) });
    session.on('error', (err) => {
      this.#connectError = err;
    });
    this.#session = session;
    return session;
  }

  call(
    path: string,
    request: Buffer,
    options: { deadline?: number | undefined; signal?: AbortSignal | undefined },
  ): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const session = this.#connection();
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(request.length, 1);
      const headers: Record<string, string> = {
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
      };
      if (options.deadline !== undefined) {
        headers['grpc-timeout'] = `${Math.max(1, Math.ceil(options.deadline - Date.now()))}m`;
      }
      const stream = session.request(headers);
      let settled = false;
      const finish = (outcome: Buffer | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const onAbort = () => finish(failure(Status.CANCELLED, 'Cancelled on client'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        options.deadline === undefined
          ? undefined
          : setTimeout(
              () => finish(failure(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')),
              options.deadline - Date.now(),
            );

      let responseHeaders: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      stream.on('response', (h) => {
        responseHeaders = h;
      });
      stream.on('trailers', (t) => {
        trailers = t;
      });
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > this.#maxBytes + 5) {
          finish(
            failure(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${received} vs. ${this.#maxBytes})`),
          );
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', (err) => {
        const cause = this.#connectError ?? err;
        finish(failure(Status.UNAVAILABLE, `No connection established. Last error: ${cause.message}`));
      });
      stream.on('close', () => {
        if (settled) return;
        // a trailers-only response carries its status in the headers
        const outcome = trailers ?? responseHeaders;
        const status = outcome['grpc-status'];
        if (status === undefined) {
          const http = Number(responseHeaders[':status'] ?? 0);
          if (http !== 0 && http !== 200) {
            finish(failure(statusOfHttp(http), `Received HTTP status code ${http}`));
            return;
          }
          const cause = this.#connectError;
          finish(
            cause === undefined
              ? failure(Status.INTERNAL, `the stream ended without a gRPC status (code ${stream.rstCode})`)
              : failure(Status.UNAVAILABLE, `No connection established. Last error: ${cause.message}`),
          );
          return;
        }
        const code = Number(status);
        if (code !== 0) {
          finish(failure(code, decodeMessage(outcome['grpc-message'])));
          return;
        }
        finish(messageOfBody(Buffer.concat(chunks), this.#maxBytes));
      });
      stream.end(Buffer.concat([prefix, request]));
    });
  }

  close(): void {
    this.#session?.close();
  }
}
