/**
 * A byte relay between two listening/connecting endpoints, so a process in one network namespace
 * can reach a server in another through a unix socket (the filesystem is shared, the network is
 * not). Two relays carry the sandbox's API traffic: node side TCP -> unix socket -> host loopback.
 * TLS passes through untouched.
 *
 *   node relay.ts --listen tcp:172.30.0.1:6443 --connect unix:/var/lib/.../api.sock
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

type Endpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

function parseEndpoint(text: string): Endpoint {
  if (text.startsWith('unix:')) return { kind: 'unix', path: text.slice('unix:'.length) };
  const match = /^tcp:(.+):(\d+)$/.exec(text);
  if (match) return { kind: 'tcp', host: match[1]!, port: Number(match[2]) };
  throw new Error(`endpoint ${text}: use tcp:<host>:<port> or unix:<path>`);
}

function dial(endpoint: Endpoint): Socket {
  return endpoint.kind === 'unix' ? connect(endpoint.path) : connect(endpoint.port, endpoint.host);
}

async function runRelay(listen: Endpoint, target: Endpoint, signal?: AbortSignal): Promise<void> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = dial(target);
    open.add(client);
    open.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await serveUntilStopped(server, listen, open, signal);
}

/** Listens, then serves until the signal or SIGTERM/SIGINT; open connections are cut at the stop. */
export async function serveUntilStopped(
  server: Server,
  listen: Endpoint,
  open: Set<Socket>,
  signal?: AbortSignal,
): Promise<void> {
  if (listen.kind === 'unix') rmSync(listen.path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.kind === 'unix') server.listen(listen.path, () => resolve());
    else server.listen(listen.port, listen.host, () => resolve());
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      for (const socket of open) socket.destroy();
      server.close(() => resolve());
    };
    signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    const v = i >= 0 ? args[i + 1] : undefined;
    if (v === undefined) throw new Error(`relay: ${flag} is required`);
    return v;
  };
  try {
    await runRelay(parseEndpoint(value('--listen')), parseEndpoint(value('--connect')));
  } catch (err) {
    process.stderr.write(`relay: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
