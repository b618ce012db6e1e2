/**
 * Streams the runtime cannot take as the client offers them, translated in the kubelet as
 * upstream's API server does with its StreamTranslatorProxy and StreamTunnelingProxy.
 *
 * kubectl 1.30 and later first ask for a websocket speaking `v5.channel.k8s.io` (exec, attach,
 * cp) or carrying SPDY (`SPDY/3.1+portforward.k8s.io`, port-forward from 1.31), and only when that
 * upgrade is refused dial again with SPDY. containerd 1.6's streaming server knows neither, so
 * every `kubectl exec` paid for a refused upgrade, a second connection and a second CRI call.
 *
 *  - `v5.channel.k8s.io` differs from `v4.channel.k8s.io` (which containerd speaks) only by the
 *    255 "close channel" message, which half-closes stdin. Without stdin there is nothing to close,
 *    so the messages pass unchanged between a v5 client and a v4 runtime. With stdin the upgrade
 *    goes to the runtime as it came; it refuses it and kubectl falls back to SPDY, which can
 *    half-close.
 *  - The port-forward tunnel carries a SPDY connection as slices in binary websocket messages: the
 *    kubelet makes the SPDY upgrade to the runtime itself and then moves bytes between the two.
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { openStreamSocket } from '../../cri/stream.ts';
import { KubeletRequestError } from './request-error.ts';
import { channelV5, portForwardTunnel } from './stream-translation-choice.ts';

// the choice lives apart so that the kubelet server loads this module (and the ws library) only
// for a stream it translates
export { channelV5, chooseStreamTranslation, portForwardTunnel } from './stream-translation-choice.ts';

/** Bytes a websocket may hold unsent before the side feeding it is paused. */
const highWaterBytes = 1 << 20;

/**
 * Completes the client's websocket handshake choosing `protocol`. The tunnel's name carries a "/",
 * which RFC 6455's token grammar (and so the ws library) refuses but Go's websocket peers accept:
 * such a name is swapped for a placeholder while the library checks the request, and put back into
 * the answer's Sec-WebSocket-Protocol header, which is what kubectl checks.
 */
function acceptWebsocket(protocol: string, req: IncomingMessage, client: Duplex, head: Buffer): Promise<WebSocket> {
  const placeholder = 'bosun-tunnel';
  const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(protocol) ? protocol : placeholder;
  if (token !== protocol) req.headers['sec-websocket-protocol'] = token;
  const server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(token) ? token : false),
  });
  if (token !== protocol)
    server.on('headers', (headers: string[]) => {
      const at = headers.findIndex((h) => h.toLowerCase() === `sec-websocket-protocol: ${token}`);
      if (at >= 0) headers[at] = `Sec-WebSocket-Protocol: ${protocol}`;
    });
  return new Promise((resolve) => server.handleUpgrade(req, client, head, resolve));
}

/** Ends both sides when either ends; a websocket close code passes on when it is one a peer may send. */
function closeTogether(a: WebSocket, b: WebSocket): void {
  const pass = (from: WebSocket, to: WebSocket) =>
    from.once('close', (code: number, reason: Buffer) => {
      if (to.readyState === WebSocket.OPEN) to.close(code >= 1000 && code < 1004 ? code : 1000, reason);
      else to.terminate();
    });
  pass(a, b);
  pass(b, a);
  a.on('error', () => a.terminate());
  b.on('error', () => b.terminate());
}

/** exec/attach: a v5 client relayed to the runtime's v4 websocket, message for message. */
export async function translateChannelV5(url: URL, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
  const early: Buffer[] = [];
  let accepted: WebSocket | undefined;
  const toClient = (data: Buffer) => {
    if (accepted) accepted.send(data, { binary: true });
    else early.push(data);
  };
  let runtime: WebSocket;
  try {
    runtime = await openStreamSocket(url.toString(), ['v4.channel.k8s.io'], toClient);
  } catch (err) {
    throw new KubeletRequestError(502, (err as Error).message);
  }
  accepted = await acceptWebsocket(channelV5, req, client, head);
  for (const data of early.splice(0)) accepted.send(data, { binary: true });
  accepted.on('message', (data: Buffer) => {
    // 255 closes a channel; only stdin could be closed, and these streams have none
    if (data[0] === 255) return;
    if (runtime.readyState === WebSocket.OPEN) runtime.send(data, { binary: true });
  });
  closeTogether(accepted, runtime);
}

/** The runtime's answer to the SPDY upgrade: its status line and whatever bytes followed the head. */
function readUpgradeAnswer(socket: Socket): Promise<{ status: number; rest: Buffer; head: string }> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) {
        if (seen.length > 16_384) finish(new Error('the answer to the SPDY upgrade has no end of headers'));
        return;
      }
      const head = seen.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      finish(undefined, { status, rest: seen.subarray(end + 4), head });
    };
    const onEnd = () => finish(new Error('the streaming server closed the connection before answering'));
    const onError = (err: Error) => finish(err);
    const finish = (err?: Error, answer?: { status: number; rest: Buffer; head: string }) => {
      socket.off('data', onData).off('end', onEnd).off('error', onError);
      if (err) reject(err);
      else resolve(answer!);
    };
    socket.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

/** port-forward: SPDY carried in websocket messages, unwrapped onto a SPDY upgrade to the runtime. */
export async function tunnelPortForward(url: URL, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
  const runtime = connect(Number(url.port || 80), url.hostname);
  let answer: { status: number; rest: Buffer; head: string };
  try {
    await new Promise<void>((resolve, reject) => {
      runtime.once('connect', resolve);
      runtime.once('error', reject);
    });
    runtime.write(
      [
        `POST ${url.pathname}${url.search} HTTP/1.1`,
        `Host: ${url.host}`,
        'Connection: Upgrade',
        'Upgrade: SPDY/3.1',
        'X-Stream-Protocol-Version: portforward.k8s.io',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    answer = await readUpgradeAnswer(runtime);
  } catch (err) {
    runtime.destroy();
    throw new KubeletRequestError(
      502,
      `the runtime's streaming server at ${url.host} did not take the port-forward: ${(err as Error).message}`,
    );
  }
  if (answer.status !== 101) {
    runtime.destroy();
    throw new KubeletRequestError(
      502,
      `the runtime's streaming server refused the port-forward: ${answer.head.split('\r\n')[0]}`,
    );
  }
  runtime.pause();
  const tunnel = await acceptWebsocket(portForwardTunnel, req, client, head);
  if (answer.rest.length > 0) tunnel.send(answer.rest, { binary: true });
  runtime.on('data', (chunk: Buffer) => {
    tunnel.send(chunk, { binary: true }, () => {
      if (tunnel.bufferedAmount < highWaterBytes) runtime.resume();
    });
    if (tunnel.bufferedAmount >= highWaterBytes) runtime.pause();
  });
  runtime.resume();
  tunnel.on('message', (data: Buffer) => {
    if (!runtime.write(data)) {
      tunnel.pause();
      runtime.once('drain', () => tunnel.resume());
    }
  });
  const end = () => {
    runtime.destroy();
    if (tunnel.readyState === WebSocket.OPEN) tunnel.close(1000);
    else tunnel.terminate();
  };
  runtime.once('close', end).on('error', end);
  tunnel.once('close', end).on('error', end);
}
