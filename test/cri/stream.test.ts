/**
 * The channel protocol client against a local websocket server that plays the runtime's part
 * (the real streaming server is exercised in test/cri/real.test.ts).
 */
import test from 'ava';
import { PassThrough } from 'node:stream';
import net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  decodeFrame,
  encodeFrame,
  exitCodeFromStatus,
  forwardConnection,
  runRemoteCommand,
  websocketUrl,
} from '../../cri/stream.ts';
import type { CriError } from '../../cri/errors.ts';

async function server(protocol: string, onConnection: (socket: WebSocket, url: string) => void) {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (offered) => (offered.has(protocol) ? protocol : false),
  });
  wss.on('connection', (socket, req) => onConnection(socket, req.url ?? ''));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/exec/token`,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

const collect = () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
};

test('frames: one channel byte, then the payload', (t) => {
  t.deepEqual([...encodeFrame(4, '{"Width":80}')].slice(0, 2), [4, 0x7b]);
  t.deepEqual(decodeFrame(Buffer.from([2, 65, 66])), { channel: 2, payload: Buffer.from('AB') });
  t.is(decodeFrame(Buffer.alloc(0)), undefined);
  t.is(websocketUrl('http://127.0.0.1:3/exec/x'), 'ws://127.0.0.1:3/exec/x');
  t.is(websocketUrl('https://h/attach/y'), 'wss://h/attach/y');
});

test('status channel: success, non-zero exit code, and a failure that is not an exit', (t) => {
  t.is(exitCodeFromStatus('{"metadata":{},"status":"Success"}'), 0);
  t.is(
    exitCodeFromStatus(
      '{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"42"}]}}',
    ),
    42,
  );
  const err = t.throws(() =>
    exitCodeFromStatus('{"status":"Failure","message":"exec: \\"nope\\": not found","reason":"InternalError"}'),
  );
  t.is((err as CriError).code, 'BOSUN_CRI_STREAM');
  t.regex(err!.message, /not found/);
});

test('exec over v4: stdout and stderr apart, stdin and resizes reach the server, exit code from the status channel', async (t) => {
  const received: number[] = [];
  const stdinSeen: string[] = [];
  const fake = await server('v4.channel.k8s.io', (socket) => {
    // The first frames go out in the same tick as the upgrade, as the real server's do.
    socket.send(encodeFrame(1, 'out-1 '));
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(data)!;
      received.push(frame.channel);
      if (frame.channel === 0) stdinSeen.push(frame.payload.toString());
      if (frame.channel === 4) t.deepEqual(JSON.parse(frame.payload.toString()), { Width: 100, Height: 40 });
      if (frame.channel === 0 && frame.payload.toString() === 'bye') {
        socket.send(encodeFrame(2, 'err'));
        socket.send(encodeFrame(1, 'out-2'));
        socket.send(
          encodeFrame(
            3,
            JSON.stringify({
              status: 'Failure',
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: '3' }] },
            }),
          ),
        );
        socket.close();
      }
    });
  });
  const stdout = collect();
  const stderr = collect();
  const stdin = new PassThrough();
  setTimeout(() => stdin.write('bye'), 50);
  const result = await runRemoteCommand(fake.url, {
    stdin,
    stdout: stdout.stream,
    stderr: stderr.stream,
    onResize: (send) => {
      send({ width: 100, height: 40 });
      return () => {};
    },
  });
  await fake.close();
  t.deepEqual(result, { exitCode: 3, protocol: 'v4.channel.k8s.io' });
  t.is(stdout.text(), 'out-1 out-2');
  t.is(stderr.text(), 'err');
  t.deepEqual(stdinSeen, ['bye']);
  t.deepEqual(received, [4, 0]);
});

test('over v5 the end of stdin is passed on as a close of channel 0', async (t) => {
  const fake = await server('v5.channel.k8s.io', (socket) => {
    let input = '';
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(data)!;
      if (frame.channel === 0) input += frame.payload.toString();
      if (frame.channel === 255 && frame.payload[0] === 0) {
        socket.send(encodeFrame(1, input.toUpperCase()));
        socket.send(encodeFrame(3, '{"status":"Success"}'));
        socket.close();
      }
    });
  });
  const stdout = collect();
  const stdin = new PassThrough();
  stdin.end('abc');
  const result = await runRemoteCommand(fake.url, { stdin, stdout: stdout.stream });
  await fake.close();
  t.deepEqual(result, { exitCode: 0, protocol: 'v5.channel.k8s.io' });
  t.is(stdout.text(), 'ABC');
});

test('a refused upgrade is a BOSUN_CRI_STREAM error naming the HTTP status', async (t) => {
  const fake = await server('something-else', () => {});
  const err = await t.throwsAsync(runRemoteCommand(fake.url));
  await fake.close();
  t.is((err as CriError).code, 'BOSUN_CRI_STREAM');
});

test('port-forward: the port prefix is stripped on each channel and bytes flow both ways', async (t) => {
  let requestedUrl = '';
  const fake = await server('v4.channel.k8s.io', (socket, url) => {
    requestedUrl = url;
    const prefix = Buffer.from([0x90, 0x1f]); // 8080, little-endian
    socket.send(encodeFrame(0, prefix));
    socket.send(encodeFrame(1, prefix));
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(data)!;
      if (frame.channel === 0) {
        socket.send(encodeFrame(0, `echo:${frame.payload.toString()}`));
        socket.close();
      }
    });
  });
  const local = new net.Server();
  await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
  const done = new Promise<void>((resolve, reject) => {
    local.once('connection', (conn) => forwardConnection(fake.url, 8080, conn).then(resolve, reject));
  });
  const client = net.connect((local.address() as net.AddressInfo).port, '127.0.0.1');
  client.write('ping');
  let answer = '';
  client.on('data', (chunk) => (answer += chunk.toString()));
  await new Promise((resolve) => client.once('end', resolve));
  await done;
  local.close();
  await fake.close();
  t.is(answer, 'echo:ping');
  t.regex(requestedUrl, /[?&]port=8080\b/);
});

test('over v4 the end of stdin cannot be passed on, and the caller is told so', async (t) => {
  const fake = await server('v4.channel.k8s.io', (socket) => {
    socket.on('message', (data: Buffer) => {
      if (decodeFrame(data)?.channel === 0) setTimeout(() => socket.close(), 100);
    });
  });
  const stdin = new PassThrough();
  stdin.end('all of it');
  let told = 0;
  await runRemoteCommand(fake.url, { stdin, onStdinEndLost: () => (told += 1) });
  await fake.close();
  t.is(told, 1);
});
