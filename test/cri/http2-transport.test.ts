/**
 * The http2 gRPC transport against a gRPC server made here from node:http2 on a unix socket, so
 * each test can make the server misbehave at the byte level: messages split across DATA frames at
 * any byte, trailers-only errors, a connection dropped mid-stream and a server that comes back,
 * GOAWAY, deadlines, oversized messages. Failures must read as grpc-js reports them (a gRPC status
 * code and its details), since the agent's retry and "runtime down" handling branch on them.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import {
  constants,
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { Http2Transport } from '../../cri/http2-transport.ts';
import { GrpcStatus } from '../../cri/errors.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), `bosun-h2-transport-${process.pid}-`));
const maxBytes = 1024;

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, request: Buffer) => void;

/** A gRPC server on its own socket: `handlers` by path; it records sessions and the streams' ends. */
class FakeGrpcServer {
  readonly socket: string;
  readonly sessions: ServerHttp2Session[] = [];
  readonly requests: { path: string; headers: IncomingHttpHeaders; request: Buffer }[] = [];
  /** Streams the client reset (cancelled) */
  readonly resets: string[] = [];
  #server: Http2Server | undefined;
  readonly #handlers: Record<string, Handler>;

  constructor(name: string, handlers: Record<string, Handler>) {
    this.socket = join(dir, `${name}.sock`);
    this.#handlers = handlers;
  }

  async listen(): Promise<void> {
    const server = createServer();
    server.on('session', (session) => this.sessions.push(session));
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', () => {});
      stream.on('close', () => {
        if (stream.rstCode === constants.NGHTTP2_CANCEL) this.resets.push(String(headers[':path']));
      });
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        const path = String(headers[':path']);
        this.requests.push({ path, headers, request: body.subarray(5) });
        const handler = this.#handlers[path];
        if (handler === undefined) {
          stream.respond(
            { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
            { endStream: true },
          );
          return;
        }
        handler(stream, headers, body.subarray(5));
      });
    });
    await new Promise<void>((resolve) => server.listen(this.socket, resolve));
    this.#server = server;
  }

  /** The runtime goes away: every connection is torn down at once and the socket disappears. */
  async crash(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
    this.#server = undefined;
  }
}

const frame = (message: Buffer) => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
};

const okTrailers = { 'grpc-status': '0' };
const respond = (stream: ServerHttp2Stream) =>
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
/** One answer, then OK trailers. */
const answerWith = (stream: ServerHttp2Stream, message: Buffer) => {
  respond(stream);
  stream.on('wantTrailers', () => stream.sendTrailers(okTrailers));
  stream.end(frame(message));
};
const echo: Handler = (stream, _headers, request) => answerWith(stream, request);

const server = new FakeGrpcServer('main', {
  '/t.S/Echo': (stream, _headers, request) => answerWith(stream, Buffer.concat([Buffer.from('echo:'), request])),
  // three messages, with the DATA frames cut at bytes that split prefixes and bodies
  '/t.S/Three': (stream) => {
    respond(stream);
    stream.on('wantTrailers', () => stream.sendTrailers(okTrailers));
    const all = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.alloc(0)), frame(Buffer.from('three'))]);
    for (const [from, to] of [
      [0, 2],
      [2, 7],
      [7, 9],
      [9, all.length],
    ] as const) {
      stream.write(all.subarray(from, to));
    }
    stream.end();
  },
  // "trailers-only": the status and its percent-encoded words in the response headers, no body
  '/t.S/Missing': (stream) =>
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(GrpcStatus.NOT_FOUND),
        'grpc-message': 'container %22c1%22 not found',
      },
      { endStream: true },
    ),
  // one message, then the stream stays open: for deadlines, cancellation and dropped connections
  '/t.S/Watch': (stream) => {
    respond(stream);
    stream.write(frame(Buffer.from('first')));
  },
  '/t.S/Never': () => {},
  '/t.S/Huge': (stream) => {
    respond(stream);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(maxBytes + 1, 1);
    stream.write(prefix);
  },
  '/t.S/Two': (stream) => {
    respond(stream);
    stream.on('wantTrailers', () => stream.sendTrailers(okTrailers));
    stream.end(Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]));
  },
  '/t.S/Teapot': (stream) => stream.respond({ ':status': 503 }, { endStream: true }),
});

test.before(() => server.listen());
test.after.always(async () => {
  await server.crash();
  rmSync(dir, { recursive: true, force: true });
});

async function collect(
  messages: AsyncIterable<Buffer>,
): Promise<{ got: string[]; failure?: { code: number; details: string } }> {
  const got: string[] = [];
  try {
    for await (const message of messages) got.push(message.toString());
    return { got };
  } catch (err) {
    const { code, details } = err as { code: number; details: string };
    return { got, failure: { code, details } };
  }
}

const failureOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (err) {
    const { code, details } = err as { code: number; details: string };
    return { code, details };
  }
  throw new Error('the call succeeded');
};

test.serial('a unary call carries its message framed and the gRPC headers; the answer comes back', async (t) => {
  const transport = new Http2Transport(server.socket, maxBytes);
  const answer = await transport.unary('/t.S/Echo', Buffer.from('hi'), { deadline: Date.now() + 5_000 });
  t.is(answer.toString(), 'echo:hi');
  const seen = server.requests.findLast((r) => r.path === '/t.S/Echo')!;
  t.is(seen.request.toString(), 'hi');
  t.is(seen.headers['content-type'], 'application/grpc');
  t.is(seen.headers.te, 'trailers');
  t.regex(String(seen.headers['grpc-timeout']), /^\d{1,8}m$/);
  transport.close();
});

test.serial(
  'a server stream yields every message in order however the frames cut them, and ends on OK trailers',
  async (t) => {
    const transport = new Http2Transport(server.socket, maxBytes);
    t.deepEqual(await collect(transport.serverStream('/t.S/Three', Buffer.alloc(0), {})), {
      got: ['one', '', 'three'],
    });
    transport.close();
  },
);

test.serial('a trailers-only error ends a unary call and a stream with its status and decoded words', async (t) => {
  const transport = new Http2Transport(server.socket, maxBytes);
  const expected = { code: GrpcStatus.NOT_FOUND, details: 'container "c1" not found' };
  t.deepEqual(await failureOf(transport.unary('/t.S/Missing', Buffer.alloc(0), {})), expected);
  t.deepEqual(await collect(transport.serverStream('/t.S/Missing', Buffer.alloc(0), {})), {
    got: [],
    failure: expected,
  });
  // an unknown method, and an HTTP error without gRPC status, as grpc-js maps them
  t.is((await failureOf(transport.unary('/t.S/Nope', Buffer.alloc(0), {}))).code, GrpcStatus.UNIMPLEMENTED);
  t.deepEqual(await failureOf(transport.unary('/t.S/Teapot', Buffer.alloc(0), {})), {
    code: GrpcStatus.UNAVAILABLE,
    details: 'Received HTTP status code 503',
  });
  // a unary answer with two messages is refused, as grpc-js refuses it
  t.deepEqual(await failureOf(transport.unary('/t.S/Two', Buffer.alloc(0), {})), {
    code: GrpcStatus.UNIMPLEMENTED,
    details: 'Too many responses received',
  });
  transport.close();
});

test.serial(
  'a deadline ends a stream with DEADLINE_EXCEEDED, travels as grpc-timeout, and resets the stream',
  async (t) => {
    const transport = new Http2Transport(server.socket, maxBytes);
    const started = Date.now();
    const result = await collect(transport.serverStream('/t.S/Watch', Buffer.alloc(0), { deadline: Date.now() + 300 }));
    t.deepEqual(result, {
      got: ['first'],
      failure: { code: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' },
    });
    t.true(Date.now() - started >= 290 && Date.now() - started < 3_000);
    t.regex(String(server.requests.findLast((r) => r.path === '/t.S/Watch')!.headers['grpc-timeout']), /^(29\d|300)m$/);
    await waitFor(() => server.resets.includes('/t.S/Watch'), { what: 'the server sees the stream reset' });
    t.deepEqual(await failureOf(transport.unary('/t.S/Never', Buffer.alloc(0), { deadline: Date.now() + 100 })), {
      code: GrpcStatus.DEADLINE_EXCEEDED,
      details: 'Deadline exceeded',
    });
    transport.close();
  },
);

test.serial(
  'a deadline weeks away neither fires at once (timers stop at 24.8 days) nor overflows grpc-timeout',
  async (t) => {
    const transport = new Http2Transport(server.socket, maxBytes);
    const deadline = Date.now() + 40 * 24 * 3_600_000;
    t.is((await transport.unary('/t.S/Echo', Buffer.from('later'), { deadline })).toString(), 'echo:later');
    t.regex(String(server.requests.findLast((r) => r.path === '/t.S/Echo')!.headers['grpc-timeout']), /^\d{1,8}S$/);
    transport.close();
  },
);

test.serial('an abort signal cancels a stream; stopping the iteration cancels it too', async (t) => {
  const transport = new Http2Transport(server.socket, maxBytes);
  const controller = new AbortController();
  const got: string[] = [];
  const failure = await failureOf(
    (async () => {
      for await (const message of transport.serverStream('/t.S/Watch', Buffer.alloc(0), {
        signal: controller.signal,
      })) {
        got.push(message.toString());
        controller.abort();
      }
    })(),
  );
  t.deepEqual([got, failure], [['first'], { code: GrpcStatus.CANCELLED, details: 'Cancelled on client' }]);
  const resetsBefore = server.resets.filter((p) => p === '/t.S/Watch').length;
  for await (const _message of transport.serverStream('/t.S/Watch', Buffer.alloc(0), {})) break;
  await waitFor(() => server.resets.filter((p) => p === '/t.S/Watch').length > resetsBefore, {
    what: 'the server sees the abandoned stream reset',
  });
  t.pass();
  transport.close();
});

test.serial(
  'messages past the size limit are refused both ways: RESOURCE_EXHAUSTED, nothing sent or held',
  async (t) => {
    const transport = new Http2Transport(server.socket, maxBytes);
    const before = server.requests.length;
    t.deepEqual(await failureOf(transport.unary('/t.S/Echo', Buffer.alloc(maxBytes + 1), {})), {
      code: GrpcStatus.RESOURCE_EXHAUSTED,
      details: `Sent message larger than max (${maxBytes + 1} vs. ${maxBytes})`,
    });
    t.is(server.requests.length, before);
    t.deepEqual(await collect(transport.serverStream('/t.S/Huge', Buffer.alloc(0), {})), {
      got: [],
      failure: {
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        details: `Received message larger than max (${maxBytes + 1} vs. ${maxBytes})`,
      },
    });
    // the connection still serves the next call
    t.is((await transport.unary('/t.S/Echo', Buffer.from('x'), {})).toString(), 'echo:x');
    transport.close();
  },
);

test('a slow reader holds the runtime back through HTTP/2 flow control, then gets every message in order', async (t) => {
  const count = 1000;
  let written = 0;
  const busy = new FakeGrpcServer('busy', {
    '/t.S/Flood': (stream) => {
      respond(stream);
      stream.on('wantTrailers', () => stream.sendTrailers(okTrailers));
      const next = () => {
        while (written < count) {
          const message = Buffer.alloc(1000, written % 256);
          written += 1;
          if (!stream.write(frame(message))) {
            stream.once('drain', next);
            return;
          }
        }
        stream.end();
      };
      next();
    },
  });
  await busy.listen();
  const transport = new Http2Transport(busy.socket, maxBytes);
  try {
    const messages = transport.serverStream('/t.S/Flood', Buffer.alloc(0), {})[Symbol.asyncIterator]();
    t.is((await messages.next()).value?.[0], 0);
    // the reader holds: the runtime's window runs out and it stops well short of the whole flood
    let seen = -1;
    await waitFor(
      () => {
        const still = written === seen;
        seen = written;
        return still;
      },
      { what: 'the runtime stops writing', intervalMs: 200 },
    );
    t.true(written < count / 2, `${written} of ${count} written while the reader held`);
    let received = 1;
    for (let next = await messages.next(); !next.done; next = await messages.next()) {
      t.is(next.value[0], received % 256);
      received += 1;
    }
    t.is(received, count);
  } finally {
    transport.close();
    await busy.crash();
  }
});

test('a runtime that goes away mid-stream fails the calls in flight with UNAVAILABLE; the next call reconnects once it is back', async (t) => {
  const flaky = new FakeGrpcServer('flaky', {
    '/t.S/Watch': (stream) => {
      respond(stream);
      stream.write(frame(Buffer.from('first')));
    },
    '/t.S/Echo': echo,
    '/t.S/Never': () => {},
  });
  await flaky.listen();
  const transport = new Http2Transport(flaky.socket, maxBytes);
  try {
    const got: string[] = [];
    const streaming = failureOf(
      (async () => {
        for await (const message of transport.serverStream('/t.S/Watch', Buffer.alloc(0), {}))
          got.push(message.toString());
      })(),
    );
    const unary = failureOf(transport.unary('/t.S/Never', Buffer.alloc(0), {}));
    await waitFor(() => got.length === 1, { what: 'the first message' });
    await flaky.crash();
    const dropped = { code: GrpcStatus.UNAVAILABLE, details: 'Connection dropped' };
    t.deepEqual(await streaming, dropped);
    t.deepEqual(await unary, dropped);

    // while it is down: UNAVAILABLE at once, in grpc-js's words
    const down = await failureOf(transport.unary('/t.S/Echo', Buffer.from('x'), { deadline: Date.now() + 5_000 }));
    t.is(down.code, GrpcStatus.UNAVAILABLE);
    t.regex(down.details, /^No connection established\. Last error: connect ENOENT /);

    await flaky.listen();
    t.is((await transport.unary('/t.S/Echo', Buffer.from('back'), {})).toString(), 'back');
    t.is(flaky.sessions.length, 2);
  } finally {
    transport.close();
    await flaky.crash();
  }
});

test('after a GOAWAY the call in flight finishes and the next call opens a new connection', async (t) => {
  let held: (() => void) | undefined;
  const leaving = new FakeGrpcServer('leaving', {
    '/t.S/Slow': (stream) => {
      held = () => answerWith(stream, Buffer.from('late'));
    },
    '/t.S/Echo': echo,
  });
  await leaving.listen();
  const transport = new Http2Transport(leaving.socket, maxBytes);
  try {
    const slow = transport.unary('/t.S/Slow', Buffer.alloc(0), {});
    await waitFor(() => held !== undefined, { what: 'the slow call reaches the server' });
    const first = leaving.sessions[0]!;
    first.goaway(constants.NGHTTP2_NO_ERROR);
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.is((await transport.unary('/t.S/Echo', Buffer.from('2'), {})).toString(), '2');
    t.is(leaving.sessions.length, 2, 'the call after the GOAWAY went on a new connection');
    held!();
    t.is((await slow).toString(), 'late');
  } finally {
    transport.close();
    await leaving.crash();
  }
});

test('a stream the runtime refused unprocessed is sent once more on a new connection, as grpc-js retries it', async (t) => {
  let refusals = 1;
  const refusing = new FakeGrpcServer('refusing', {
    '/t.S/Echo': (stream, _h, request) => {
      if (refusals > 0) {
        refusals -= 1;
        stream.close(constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      echo(stream, {}, request);
    },
  });
  await refusing.listen();
  const transport = new Http2Transport(refusing.socket, maxBytes);
  try {
    t.is((await transport.unary('/t.S/Echo', Buffer.from('again'), {})).toString(), 'again');
    t.is(refusing.requests.length, 2);
    // refused twice: the second refusal is the answer
    refusals = 2;
    t.deepEqual(await failureOf(transport.unary('/t.S/Echo', Buffer.from('no'), {})), {
      code: GrpcStatus.UNAVAILABLE,
      details: 'Stream refused by server',
    });
  } finally {
    transport.close();
    await refusing.crash();
  }
});

test('an idle connection does not keep the process alive, as with grpc-js', async (t) => {
  const script = [
    `import { Http2Transport } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'cri', 'http2-transport.ts'))};`,
    `const transport = new Http2Transport(${JSON.stringify(server.socket)}, 1024);`,
    "const answer = await transport.unary('/t.S/Echo', Buffer.from('bye'), {});",
    'process.stdout.write(answer.toString());',
  ].join('\n');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
      { timeout: 10_000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  t.is(out, 'echo:bye');
});
