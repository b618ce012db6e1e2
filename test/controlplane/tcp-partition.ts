/**
 * A TCP relay on loopback that a test can cut: `partition()` black-holes every connection (bytes
 * stop flowing both ways, nothing is closed, as when a network drops packets) and holds new ones
 * unanswered; `heal()` closes the held connections so their clients reconnect, and relays again.
 * Put it between one `bosun server` and etcd to cut that server off alone.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface PartitionableLink {
  /** host:port to give the client instead of the target's. */
  readonly address: string;
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function partitionableLink(targetHost: string, targetPort: number): Promise<PartitionableLink> {
  let cut = false;
  const open = new Set<Socket>();
  const held = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (cut) {
      held.add(client);
      client.pause();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    partition: () => {
      cut = true;
      for (const socket of open) {
        socket.unpipe();
        socket.pause();
        held.add(socket);
      }
    },
    heal: () => {
      cut = false;
      for (const socket of held) socket.destroy();
      held.clear();
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
