/**
 * An upgraded connection (websocket, SPDY) passed on: the client's request is written to the
 * target as it came (request line with the target's path, every header but the ones `keep`
 * refuses, the bytes read past the header), then the two connections become one byte pipe, and
 * either side closing closes both. Whatever the target answers, 101 or an error, reaches the client
 * as it is.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** Credentials meant for this server: used here, never passed on. */
export function isServerCredential(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'authorization' || lower.startsWith('impersonate-');
}

export function spliceUpgrade(
  target: Duplex,
  path: string,
  host: string,
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
): void {
  const lines = [`${req.method} ${path} HTTP/1.1`, `Host: ${host}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (name.toLowerCase() !== 'host' && !isServerCredential(name)) lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  target.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length > 0) target.write(head);
  target.pipe(client);
  client.pipe(target);
  const close = () => {
    target.destroy();
    client.destroy();
  };
  target.on('error', close);
  client.on('error', close);
  target.on('close', close);
  client.on('close', close);
}
