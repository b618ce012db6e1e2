/**
 * gRPC's framing as pure functions: a body cut into chunks at every possible byte gives the same
 * messages; a hostile or broken runtime (oversized announcements, compression nobody asked for,
 * a status that is not a number, words that are not valid percent-encoding) gets a gRPC failure,
 * never an exception or a buffer grown to what the runtime announced.
 */
import test from 'ava';
import type { IncomingHttpHeaders } from 'node:http2';
import { frameMessage, MessageReader, outcomeOfResponse, requestHeaders } from '../../cri/grpc-framing.ts';
import { GrpcStatus } from '../../cri/errors.ts';

/** Response headers as Node gives them (`:status` a number, which IncomingHttpHeaders' type does not say). */
const response = (status: number, extra: Record<string, string> = {}) =>
  ({ ':status': status, ...extra }) as unknown as IncomingHttpHeaders;

const framed = (text: string) => frameMessage(Buffer.from(text), 1024) as Buffer;

test('messages come out whole and in order wherever the chunks are cut', (t) => {
  const body = Buffer.concat([framed('alpha'), framed(''), framed('gamma delta')]);
  for (let first = 0; first <= body.length; first += 1) {
    for (let second = first; second <= body.length; second += 3) {
      const reader = new MessageReader(1024);
      const got: string[] = [];
      for (const chunk of [body.subarray(0, first), body.subarray(first, second), body.subarray(second)]) {
        const messages = reader.push(chunk);
        if (messages instanceof Error) throw messages;
        got.push(...messages.map((m) => m.toString()));
      }
      t.deepEqual(got, ['alpha', '', 'gamma delta'], `cut at ${first} and ${second}`);
      t.is(reader.leftoverBytes, 0);
    }
  }
});

test('an announced length past the limit is refused from its prefix, before its bytes arrive', (t) => {
  const reader = new MessageReader(16);
  const prefix = Buffer.from([0, 0xff, 0xff, 0xff, 0xff]);
  const failure = reader.push(prefix);
  t.true(failure instanceof Error);
  t.like(failure, {
    code: GrpcStatus.RESOURCE_EXHAUSTED,
    details: 'Received message larger than max (4294967295 vs. 16)',
  });
});

test('a compressed message that was never asked for is INTERNAL; a body cut inside a message is left over', (t) => {
  const compressed = Buffer.from([1, 0, 0, 0, 1, 0x78]);
  t.like(new MessageReader(16).push(compressed), { code: GrpcStatus.INTERNAL });
  const reader = new MessageReader(16);
  t.deepEqual(reader.push(framed('whole').subarray(0, 7)), []);
  t.is(reader.leftoverBytes, 7);
});

test('sending past the limit is refused before anything is framed', (t) => {
  t.like(frameMessage(Buffer.alloc(17), 16), {
    code: GrpcStatus.RESOURCE_EXHAUSTED,
    details: 'Sent message larger than max (17 vs. 16)',
  });
});

test('the outcome: OK, a status with its decoded words, a status that is not one, and no status at all', (t) => {
  t.is(outcomeOfResponse(response(200), { 'grpc-status': '0' }, 0), null);
  t.like(outcomeOfResponse(response(200), { 'grpc-status': '5', 'grpc-message': 'no %22x%22' }, 0), {
    code: GrpcStatus.NOT_FOUND,
    details: 'no "x"',
  });
  // trailers-only: the status in the response headers
  t.like(outcomeOfResponse(response(200, { 'grpc-status': '12' }), undefined, 0), { code: GrpcStatus.UNIMPLEMENTED });
  // words that are not valid percent-encoding are shown as sent; a status that is not a gRPC code is UNKNOWN
  t.like(outcomeOfResponse(response(200), { 'grpc-status': '99', 'grpc-message': 'bad %zz' }, 0), {
    code: GrpcStatus.UNKNOWN,
    details: 'bad %zz',
  });
  t.like(outcomeOfResponse(response(200), { 'grpc-status': 'x' }, 0), { code: GrpcStatus.UNKNOWN });
  t.like(outcomeOfResponse(response(404), undefined, 0), {
    code: GrpcStatus.UNIMPLEMENTED,
    details: 'Received HTTP status code 404',
  });
  t.like(outcomeOfResponse(response(200), undefined, 0), {
    code: GrpcStatus.INTERNAL,
    details: 'Received RST_STREAM with code 0 (Call ended without gRPC status)',
  });
});

test('grpc-timeout keeps to 8 digits: milliseconds, then seconds, minutes and hours', (t) => {
  const timeout = (ms: number) => requestHeaders('/p', 1_000_000 + ms, 1_000_000)['grpc-timeout'];
  t.is(timeout(300), '300m');
  t.is(timeout(0.2), '1m');
  t.is(timeout(99_999_999), '99999999m');
  t.is(timeout(100_000_000), '100000S');
  t.is(timeout(400 * 24 * 3_600_000), '34560000S');
  t.is(timeout(10_000 * 24 * 3_600_000), '14400000M');
  t.is(requestHeaders('/p', undefined, 0)['grpc-timeout'], undefined);
});
