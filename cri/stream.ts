/**
 * Exec, attach and port-forward through the runtime's streaming server, over websocket.
 *
 * The CRI Exec/Attach/PortForward calls only return a one-time URL; the bytes then flow over the
 * Kubernetes channel protocol: every websocket message starts with one byte naming its channel.
 *   exec/attach: 0 stdin (to the runtime), 1 stdout, 2 stderr, 3 status (JSON, once, at the end),
 *                4 terminal resize (JSON {"Width","Height"}, to the runtime); v5 adds 255 "close
 *                channel", which lets us pass end-of-input on stdin.
 *   port-forward: per requested port i, channel 2i carries data both ways and 2i+1 errors; the
 *                first message on each of them is the port number (2 bytes, little-endian).
 * We offer v5.channel.k8s.io and v4.channel.k8s.io; containerd 1.6 speaks v4, so over it stdin
 * cannot be half-closed: a command that waits for end-of-input (cat) only ends with -t (Ctrl-D)
 * or when the connection closes.
 */
import type { Duplex, Readable } from 'node:stream';
import WebSocket from 'ws';
import { CriStreamError } from './errors.ts';

const channelProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

const Channel = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  status: 3,
  resize: 4,
  close: 255,
} as const;

export interface TerminalSize {
  width: number;
  height: number;
}

/** One websocket message: the channel byte, then the payload. */
export function encodeFrame(channel: number, payload: Uint8Array | string = new Uint8Array(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const frame = Buffer.allocUnsafe(body.length + 1);
  frame[0] = channel;
  frame.set(body, 1);
  return frame;
}

export function decodeFrame(message: Buffer): { channel: number; payload: Buffer } | undefined {
  if (message.length === 0) return undefined;
  return { channel: message[0]!, payload: message.subarray(1) };
}

/**
 * Reads the status channel's JSON (a Kubernetes metav1.Status) into an exit code.
 * Success -> 0; NonZeroExitCode -> the code from details.causes; anything else is a stream error
 * carrying the runtime's message (the command could not be started, for instance).
 */
export function exitCodeFromStatus(text: string): number {
  let status: {
    status?: string;
    message?: string;
    reason?: string;
    details?: { causes?: { reason?: string; message?: string }[] };
  };
  try {
    status = JSON.parse(text) as typeof status;
  } catch {
    // Before v4 the channel held plain error text.
    throw new CriStreamError(text.trim() || 'the runtime reported a stream error');
  }
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  throw new CriStreamError(status.message || `the runtime reported ${status.reason ?? 'a failure'}`);
}

/** http(s)://host/exec/token -> ws(s)://host/exec/token */
export function websocketUrl(url: string): string {
  return url.replace(/^http(s?):\/\//, 'ws$1://');
}

/** Where output goes: a stream, process.stdout, or anything with write(). */
interface ByteSink {
  write(chunk: Uint8Array): unknown;
}

interface RemoteCommandOptions {
  stdin?: Readable | undefined;
  stdout?: ByteSink | undefined;
  stderr?: ByteSink | undefined;
  /**
   * Called once the stream is open with a function that sends a terminal size; returns an
   * unsubscribe function. The CLI hooks it to its terminal's 'resize' events.
   */
  onResize?: ((send: (size: TerminalSize) => void) => () => void) | undefined;
  /** Called when stdin ends but the protocol (v4) has no way to pass that on to the command. */
  onStdinEndLost?: (() => void) | undefined;
  signal?: AbortSignal | undefined;
}

interface RemoteCommandResult {
  /** undefined when the runtime closed the stream without a status (attach to a stopped container). */
  exitCode: number | undefined;
  protocol: string;
}

/**
 * Opens the websocket with `onMessage` already listening: ws can deliver the first frames in the
 * same tick as 'open' (they arrive in the same packet as the upgrade answer), before an await
 * continuation could attach a listener, and the port prefix or the first output would be lost.
 */
/** Opens a websocket to a runtime streaming URL offering `protocols`; rejects with the runtime's refusal. */
export function openStreamSocket(
  url: string,
  protocols: readonly string[],
  onMessage: (data: Buffer) => void,
  signal?: AbortSignal,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(websocketUrl(url), [...protocols], { perMessageDeflate: false });
    socket.on('message', onMessage);
    const onAbort = () => socket.terminate();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('open', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    socket.once('unexpected-response', (_req, res) => {
      reject(
        new CriStreamError(
          `the streaming server refused the connection: HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
        ),
      );
      socket.terminate();
    });
    socket.once('error', (err) => reject(new CriStreamError(`cannot open the stream at ${url}: ${err.message}`)));
  });
}

/** Runs an exec or attach stream to its end and returns the command's exit code. */
export async function runRemoteCommand(url: string, options: RemoteCommandOptions = {}): Promise<RemoteCommandResult> {
  let exitCode: number | undefined;
  let failure: Error | undefined;
  const onMessage = (data: Buffer) => {
    const frame = decodeFrame(data);
    if (!frame || frame.payload.length === 0) return;
    switch (frame.channel) {
      case Channel.stdout:
        options.stdout?.write(frame.payload);
        break;
      case Channel.stderr:
        options.stderr?.write(frame.payload);
        break;
      case Channel.status:
        try {
          exitCode = exitCodeFromStatus(frame.payload.toString('utf8'));
        } catch (err) {
          failure = err as Error;
        }
        break;
    }
  };
  const socket = await openStreamSocket(url, channelProtocols, onMessage, options.signal);
  const protocol = socket.protocol;
  const canCloseStdin = protocol.startsWith('v5.');
  return new Promise<RemoteCommandResult>((resolve, reject) => {
    const stdin = options.stdin;
    const onData = (chunk: Buffer | string) => {
      if (socket.readyState === WebSocket.OPEN)
        socket.send(encodeFrame(Channel.stdin, typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    };
    const onEnd = () => {
      if (!canCloseStdin) options.onStdinEndLost?.();
      else if (socket.readyState === WebSocket.OPEN)
        socket.send(encodeFrame(Channel.close, Buffer.from([Channel.stdin])));
    };
    stdin?.on('data', onData);
    stdin?.once('end', onEnd);
    const unsubscribeResize = options.onResize?.((size) => {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(encodeFrame(Channel.resize, JSON.stringify({ Width: size.width, Height: size.height })));
      }
    });
    const onAbort = () => socket.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    socket.once('error', (err) => {
      failure ??= new CriStreamError(`the stream broke: ${err.message}`);
    });
    socket.once('close', () => {
      stdin?.off('data', onData);
      stdin?.off('end', onEnd);
      unsubscribeResize?.();
      options.signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure);
      else resolve({ exitCode, protocol });
    });
  });
}

/**
 * Carries one TCP connection to `port` inside the pod over a port-forward URL (each URL is good
 * for one websocket, so callers ask PortForward again for every connection).
 * Resolves when either side closes.
 */
export async function forwardConnection(
  url: string,
  port: number,
  connection: Duplex,
  signal?: AbortSignal,
): Promise<void> {
  const target = new URL(url);
  target.searchParams.set('port', String(port));
  const prefixSeen = new Set<number>();
  let failure: Error | undefined;
  const onMessage = (data: Buffer) => {
    const frame = decodeFrame(data);
    if (!frame) return;
    let payload = frame.payload;
    // The first two bytes on each channel repeat the port number.
    if (!prefixSeen.has(frame.channel)) {
      if (payload.length < 2) return;
      prefixSeen.add(frame.channel);
      payload = payload.subarray(2);
    }
    if (payload.length === 0) return;
    if (frame.channel === 0) connection.write(payload);
    else if (frame.channel === 1) failure = new CriStreamError(payload.toString('utf8').trim());
  };
  const socket = await openStreamSocket(target.toString(), ['v4.channel.k8s.io'], onMessage, signal);
  return new Promise<void>((resolve, reject) => {
    connection.on('data', (chunk: Buffer) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(encodeFrame(0, chunk));
    });
    // Callers may have paused the connection while the stream opened; its bytes flow from now on.
    connection.resume();
    const finish = () => {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close();
    };
    connection.once('end', finish);
    connection.once('error', finish);
    connection.once('close', finish);
    socket.once('error', (err) => {
      failure ??= new CriStreamError(`the port-forward stream broke: ${err.message}`);
    });
    socket.once('close', () => {
      connection.end();
      if (failure) reject(failure);
      else resolve();
    });
  });
}
