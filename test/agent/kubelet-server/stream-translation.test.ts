/**
 * The kubelet's stream translation against a stand-in for containerd 1.6's streaming server: a
 * websocket that speaks only v4.channel.k8s.io (and refuses v5, as containerd does), and a SPDY
 * upgrade that answers 101 and then echoes the bytes it receives, so a tunnelled SPDY stream can
 * be checked byte for byte.
 */
import test from 'ava';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import {
  chooseStreamTranslation,
  channelV5,
  portForwardTunnel,
  translateChannelV5,
  tunnelPortForward,
} from '../../../agent/kubelet-server/stream-translation.ts';
import { waitFor } from '../../helpers/wait.ts';

const query = (text: string) => new URLSearchParams(text);
const ws = (protocols: string) => ({ upgrade: 'websocket', 'sec-websocket-protocol': protocols });

test('only what the runtime cannot take is translated', (t) => {
  t.is(chooseStreamTranslation('exec', ws(channelV5), query('command=true&stdout=true')), 'channel-v5-to-v4');
  t.is(chooseStreamTranslation('attach', ws(`${channelV5}`), query('stdout=1&tty=1')), 'channel-v5-to-v4');
  // stdin needs v5's half-close, which v4 cannot carry: the runtime refuses, kubectl falls back to SPDY
  t.is(chooseStreamTranslation('exec', ws(channelV5), query('command=cat&stdin=true')), 'splice');
  // a client that also speaks v4 gets the runtime's v4 directly
  t.is(chooseStreamTranslation('exec', ws(`${channelV5}, v4.channel.k8s.io`), query('command=true')), 'splice');
  t.is(chooseStreamTranslation('exec', { upgrade: 'SPDY/3.1' }, query('command=true')), 'splice');
  t.is(chooseStreamTranslation('portForward', ws(portForwardTunnel), query('ports=80')), 'spdy-tunnel');
  t.is(chooseStreamTranslation('portForward', ws('v4.channel.k8s.io'), query('ports=80')), 'splice');
  t.is(chooseStreamTranslation('portForward', { upgrade: 'SPDY/3.1' }, query('')), 'splice');
});

/** The stand-in runtime: records what it was asked and what it received. */
interface FakeRuntime {
  url: string;
  channelMessages: Buffer[];
  spdyRequests: { method: string; headers: IncomingMessage['headers'] }[];
  /** Answer SPDY upgrades with this status instead of 101. */
  refuseSpdyWith?: number;
  close(): Promise<void>;
}

async function startFakeRuntime(): Promise<FakeRuntime> {
  const runtime: FakeRuntime = {
    url: '',
    channelMessages: [],
    spdyRequests: [],
    close: async () => {},
  };
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => (offered.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.headers.upgrade ?? '').toLowerCase() === 'websocket') {
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes('v4.channel.k8s.io')) {
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (conn) => {
        // an exec of `echo hi`: output, then the status, then the end of the stream
        conn.send(Buffer.from('\x01hi\n'), { binary: true });
        conn.on('message', (data: Buffer) => {
          runtime.channelMessages.push(data);
          if (data.subarray(1).toString() === 'done') {
            conn.send(Buffer.from('\x03{"metadata":{},"status":"Success"}'), { binary: true });
            conn.close(1000);
          }
        });
      });
      return;
    }
    runtime.spdyRequests.push({ method: req.method ?? '', headers: req.headers });
    if (runtime.refuseSpdyWith !== undefined) {
      socket.end(`HTTP/1.1 ${runtime.refuseSpdyWith} Nope\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\nGREETING');
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  runtime.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exec/token`;
  runtime.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return runtime;
}

/** A kubelet stand-in that hands every upgrade to `translate` (the real kubelet does it after auth). */
async function startTranslatingKubelet(
  translate: (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>,
): Promise<{ port: number; failures: string[]; close(): Promise<void> }> {
  const failures: string[] = [];
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    translate(req, socket, head).catch((err: Error) => {
      failures.push(err.message);
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    failures,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function collect(socket: WebSocket): Promise<{ messages: Buffer[]; code: number }> {
  const messages: Buffer[] = [];
  socket.on('message', (data: Buffer) => messages.push(data));
  return new Promise((resolve, reject) => {
    socket.once('close', (code) => resolve({ messages, code }));
    socket.once('error', reject);
  });
}

test('a v5 exec client is served through the runtime’s v4 websocket, message for message', async (t) => {
  const runtime = await startFakeRuntime();
  const kubelet = await startTranslatingKubelet((req, socket, head) =>
    translateChannelV5(new URL(runtime.url), req, socket, head),
  );
  t.teardown(async () => {
    await kubelet.close();
    await runtime.close();
  });
  const client = new WebSocket(`ws://127.0.0.1:${kubelet.port}/exec/ns/pod/c?command=echo`, [channelV5]);
  const done = collect(client);
  await new Promise((resolve) => client.once('open', resolve));
  t.is(client.protocol, channelV5);
  client.send(Buffer.from('\x04{"Width":80,"Height":24}'));
  client.send(Buffer.from([255, 0]));
  client.send(Buffer.from('\x00done'));
  const { messages, code } = await done;
  t.is(code, 1000);
  t.deepEqual(
    messages.map((m) => m.toString()),
    ['\x01hi\n', '\x03{"metadata":{},"status":"Success"}'],
  );
  // the close-channel message never reaches a v4 runtime; the rest arrive unchanged and in order
  t.deepEqual(
    runtime.channelMessages.map((m) => m.toString()),
    ['\x04{"Width":80,"Height":24}', '\x00done'],
  );
});

test('a runtime that cannot be reached is a 502 before any upgrade', async (t) => {
  const runtime = await startFakeRuntime();
  await runtime.close();
  const kubelet = await startTranslatingKubelet((req, socket, head) =>
    translateChannelV5(new URL(runtime.url), req, socket, head),
  );
  t.teardown(() => kubelet.close());
  const client = new WebSocket(`ws://127.0.0.1:${kubelet.port}/exec/ns/pod/c?command=echo`, [channelV5]);
  const status = await new Promise<number>((resolve) => {
    client.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    client.once('open', () => resolve(101));
    client.once('error', () => {});
  });
  t.is(status, 502);
  t.regex(kubelet.failures[0] ?? '', /cannot open the stream/);
});

/**
 * A websocket client as kubectl's tunnel makes it: the ws library refuses to offer a subprotocol
 * with a "/" in it, so the handshake and the (masked) frames are written here by hand.
 */
async function openTunnelClient(
  port: number,
  path: string,
): Promise<{
  status: number;
  protocol: string;
  data: () => Buffer;
  send(payload: Buffer): void;
  close(): void;
}> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      `Sec-WebSocket-Protocol: ${portForwardTunnel}`,
      '',
      '',
    ].join('\r\n'),
  );
  let buffered = Buffer.alloc(0);
  let payloads = Buffer.alloc(0);
  let answered: (head: string) => void = () => {};
  const head = new Promise<string>((resolve) => (answered = resolve));
  let inFrames = false;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (!inFrames) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      answered(buffered.subarray(0, end).toString());
      buffered = buffered.subarray(end + 4);
      inFrames = true;
    }
    // server frames are unmasked: opcode byte, length (7, 16 or 64 bits), payload
    for (;;) {
      if (buffered.length < 2) return;
      let length = buffered[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffered.length < offset + length) return;
      if ((buffered[0]! & 0x0f) === 0x2)
        payloads = Buffer.concat([payloads, buffered.subarray(offset, offset + length)]);
      buffered = buffered.subarray(offset + length);
    }
  });
  const answer = await head;
  const frame = (opcode: number, payload: Buffer) => {
    const mask = randomBytes(4);
    const size =
      payload.length < 126
        ? Buffer.from([0x80 | opcode, 0x80 | payload.length])
        : payload.length < 65_536
          ? Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff])
          : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), bigEndian64(payload.length)]);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    socket.write(Buffer.concat([size, mask, masked]));
  };
  return {
    status: Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 0),
    protocol: /^sec-websocket-protocol: (.*)$/im.exec(answer)?.[1]?.trim() ?? '',
    data: () => payloads,
    send: (payload) => frame(0x2, payload),
    close: () => socket.destroy(),
  };
}

function bigEndian64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

test('port-forward: the SPDY bytes in websocket messages reach the runtime’s SPDY upgrade and come back', async (t) => {
  const runtime = await startFakeRuntime();
  const kubelet = await startTranslatingKubelet((req, socket, head) =>
    tunnelPortForward(new URL(runtime.url.replace('/exec/', '/portforward/')), req, socket, head),
  );
  t.teardown(async () => {
    await kubelet.close();
    await runtime.close();
  });
  const client = await openTunnelClient(kubelet.port, '/portForward/ns/pod?ports=80');
  t.teardown(() => client.close());
  t.is(client.status, 101);
  // kubectl checks that the answer names the tunnel it asked for
  t.is(client.protocol, portForwardTunnel);
  const big = Buffer.alloc(3 << 20, 7);
  client.send(Buffer.from('frame-1'));
  client.send(big);
  const expected = 'GREETING'.length + 'frame-1'.length + big.length;
  await waitFor(() => client.data().length >= expected, {
    what: `the echo of ${expected} bytes through the tunnel`,
    timeoutMs: 20_000,
    intervalMs: 20,
  });
  const all = client.data();
  t.is(all.subarray(0, 15).toString(), 'GREETINGframe-1');
  t.true(all.subarray(15).equals(big));
  t.is(runtime.spdyRequests.length, 1);
  t.is(runtime.spdyRequests[0]!.headers.upgrade, 'SPDY/3.1');
  t.is(runtime.spdyRequests[0]!.headers['x-stream-protocol-version'], 'portforward.k8s.io');
});

test('port-forward: a runtime that refuses the SPDY upgrade is a 502 that names its answer', async (t) => {
  const runtime = await startFakeRuntime();
  runtime.refuseSpdyWith = 403;
  const kubelet = await startTranslatingKubelet((req, socket, head) =>
    tunnelPortForward(new URL(runtime.url), req, socket, head),
  );
  t.teardown(async () => {
    await kubelet.close();
    await runtime.close();
  });
  const client = await openTunnelClient(kubelet.port, '/portForward/ns/pod?ports=80');
  client.close();
  const status = client.status;
  t.is(status, 502);
  t.regex(kubelet.failures[0] ?? '', /refused the port-forward: HTTP\/1.1 403/);
});
