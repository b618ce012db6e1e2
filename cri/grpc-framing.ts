/**
 * gRPC's framing on HTTP/2 (PROTOCOL-HTTP2 in grpc/grpc), as pure functions: a message goes behind
 * a 5-byte prefix (a compressed flag, then its length as a 32-bit big-endian number), a response
 * body is any number of such messages split across DATA frames at any byte, and the outcome comes
 * in the `grpc-status` and `grpc-message` trailers (or in the headers of a response that has no
 * body: "trailers-only"). Failures are worded as @grpc/grpc-js words them, so errors.ts maps both
 * transports' failures alike.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { GrpcStatus, type GrpcFailure } from './errors.ts';

/** A failure as grpc-js reports one: an Error with the gRPC status code and its details. */
export type TransportFailure = GrpcFailure & Error & { code: number; details: string };

export const transportFailure = (code: number, details: string): TransportFailure =>
  Object.assign(new Error(`${code} ${details}`), { code, details });

/** One message with its length prefix, ready to send; refused when larger than the send limit. */
export function frameMessage(message: Buffer, maxBytes: number): Buffer | TransportFailure {
  if (message.length > maxBytes) {
    return transportFailure(
      GrpcStatus.RESOURCE_EXHAUSTED,
      `Sent message larger than max (${message.length} vs. ${maxBytes})`,
    );
  }
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/**
 * Cuts a response body into its messages as its chunks arrive. A message announced larger than
 * the receive limit is refused from its prefix alone, before its bytes are held.
 */
export class MessageReader {
  readonly #maxBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The messages this chunk completes, or the failure that ends the call. */
  push(chunk: Buffer): Buffer[] | TransportFailure {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const messages: Buffer[] = [];
    while (this.#pendingBytes >= 5) {
      const head = this.#peek(5);
      if (head[0] !== 0) {
        // we never offer an encoding (no grpc-accept-encoding), so a compressed message is a broken server
        return transportFailure(GrpcStatus.INTERNAL, 'Received compressed message but no encoding was negotiated');
      }
      const length = head.readUInt32BE(1);
      if (length > this.#maxBytes) {
        return transportFailure(
          GrpcStatus.RESOURCE_EXHAUSTED,
          `Received message larger than max (${length} vs. ${this.#maxBytes})`,
        );
      }
      if (this.#pendingBytes < 5 + length) break;
      const whole = this.#take(5 + length);
      messages.push(whole.subarray(5));
    }
    return messages;
  }

  /** Bytes received that do not make a whole message (a body cut short). */
  get leftoverBytes(): number {
    return this.#pendingBytes;
  }

  #peek(bytes: number): Buffer {
    if (this.#pending[0]!.length < bytes) this.#pending = [Buffer.concat(this.#pending)];
    return this.#pending[0]!.subarray(0, bytes);
  }

  #take(bytes: number): Buffer {
    const all = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    this.#pending = all.length > bytes ? [all.subarray(bytes)] : [];
    this.#pendingBytes -= bytes;
    return all.subarray(0, bytes);
  }
}

/** A response without a gRPC status: its HTTP status mapped as gRPC's spec maps it. */
function statusOfHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** grpc-message is percent-encoded; a malformed one is shown as sent. */
function decodeGrpcMessage(text: string | string[] | undefined): string {
  const raw = Array.isArray(text) ? text.join(',') : (text ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * How a call ended, from what the stream carried when it closed: OK (null), or the failure.
 * `status` is the trailers, or the response headers of a trailers-only answer.
 */
export function outcomeOfResponse(
  responseHeaders: IncomingHttpHeaders,
  trailers: IncomingHttpHeaders | undefined,
  rstCode: number,
): TransportFailure | null {
  const status = (trailers ?? responseHeaders)['grpc-status'];
  if (status !== undefined) {
    const code = Number(status);
    if (code === GrpcStatus.OK) return null;
    return transportFailure(
      Number.isInteger(code) && code > 0 && code <= 16 ? code : GrpcStatus.UNKNOWN,
      decodeGrpcMessage((trailers ?? responseHeaders)['grpc-message']),
    );
  }
  const http = Number(responseHeaders[':status'] ?? 0);
  if (http !== 0 && http !== 200) return transportFailure(statusOfHttp(http), `Received HTTP status code ${http}`);
  return transportFailure(
    GrpcStatus.INTERNAL,
    `Received RST_STREAM with code ${rstCode} (Call ended without gRPC status)`,
  );
}

/** The request headers of a call; a deadline travels as grpc-timeout so the runtime stops too. */
export function requestHeaders(path: string, deadline: number | undefined, now: number): Record<string, string> {
  const headers: Record<string, string> = {
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
  };
  if (deadline !== undefined) headers['grpc-timeout'] = grpcTimeout(deadline - now);
  return headers;
}

/** grpc-timeout allows at most 8 digits: the finest unit that fits (as grpc-js picks it). */
function grpcTimeout(ms: number): string {
  const left = Math.max(1, ms);
  for (const [unit, factor] of [
    ['m', 1],
    ['S', 1_000],
    ['M', 60_000],
  ] as const) {
    const amount = Math.ceil(left / factor);
    if (amount < 1e8) return `${amount}${unit}`;
  }
  return `${Math.min(99_999_999, Math.ceil(left / 3_600_000))}H`;
}
