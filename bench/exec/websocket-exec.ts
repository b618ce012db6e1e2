/**
 * One exec over a websocket, timed in two phases: the upgrade (request sent until the 101 is read,
 * so the TLS handshake, every hop's routing and the runtime's Exec call) and the stream (101 until
 * the connection is closed: the command's run in the container, its status message and the close).
 * Resolves only when the status channel said Success.
 */
import WebSocket, { type ClientOptions } from 'ws';

export interface ExecPhases {
  upgradeMs: number;
  streamMs: number;
  totalMs: number;
}

export function timeWebsocketExec(url: string, protocol: string, options: ClientOptions = {}): Promise<ExecPhases> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [protocol], { perMessageDeflate: false, followRedirects: false, ...options });
    let opened = start;
    let status = '';
    ws.once('open', () => {
      opened = performance.now();
    });
    ws.on('message', (data: Buffer) => {
      if (data[0] === 3) status += data.subarray(1).toString();
    });
    ws.once('close', () => {
      const end = performance.now();
      if (status.includes('Success'))
        resolve({ upgradeMs: opened - start, streamMs: end - opened, totalMs: end - start });
      else reject(new Error(`exec over websocket at ${new URL(url).host} ended without success: ${status}`));
    });
    ws.once('error', reject);
  });
}
