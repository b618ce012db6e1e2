/**
 * The connections the server opens ahead to a kubelet: each handed out once and only while fresh,
 * closed when idle too long, and all dropped when the client credentials change.
 */
import test from 'ava';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { SpareConnections } from '../../../controlplane/api/spare-connections.ts';
import { waitFor } from '../../helpers/wait.ts';

let server: Server;
let port = 0;
const accepted: Socket[] = [];
test.before(async () => {
  server = createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
test.after.always(() => {
  for (const socket of accepted) socket.destroy();
  server.close();
});

const open = () =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
const ready = (spares: SpareConnections<Socket>, size = 1) =>
  waitFor(() => spares.size === size, { what: `${size} spare connection(s)`, timeoutMs: 5_000, intervalMs: 5 });

test.serial('a spare is handed out once, and only for its own kubelet', async (t) => {
  const spares = new SpareConnections<Socket>();
  spares.prepare('10.0.0.1:10250', open);
  spares.prepare('10.0.0.1:10250', open); // one on its way already: no second
  await ready(spares);
  t.is(spares.take('10.0.0.2:10250'), undefined);
  const socket = spares.take('10.0.0.1:10250');
  t.truthy(socket);
  t.false(socket!.destroyed);
  t.is(spares.take('10.0.0.1:10250'), undefined);
  socket!.destroy();
  spares.clear();
});

test.serial('a spare the kubelet closed, or that received anything, is not handed out', async (t) => {
  const spares = new SpareConnections<Socket>();
  spares.prepare('closed', open);
  await ready(spares);
  accepted.at(-1)!.destroy();
  await waitFor(() => spares.size === 0, { what: 'the closed spare to be forgotten', timeoutMs: 5_000 });
  t.is(spares.take('closed'), undefined);

  spares.prepare('talked', open);
  await ready(spares);
  accepted.at(-1)!.write('HTTP/1.1 408 Request Timeout\r\n\r\n');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(spares.take('talked'), undefined);
  spares.clear();
});

test.serial('an idle spare closes by itself; clear() closes the ready ones and the ones still opening', async (t) => {
  const idle = new SpareConnections<Socket>(50);
  idle.prepare('k', open);
  await ready(idle);
  await waitFor(() => idle.size === 0, { what: 'the idle spare to close', timeoutMs: 5_000 });
  t.is(idle.take('k'), undefined);

  const spares = new SpareConnections<Socket>();
  spares.prepare('ready', open);
  await ready(spares);
  const opening: Socket[] = [];
  let finishOpening: () => void = () => undefined;
  spares.prepare(
    'slow',
    () =>
      new Promise<Socket>((resolve) => {
        finishOpening = () => void open().then((s) => resolve(opening[opening.push(s) - 1]!));
      }),
  );
  spares.clear(); // new client credentials: nothing opened with the old ones may be used
  t.is(spares.size, 0);
  finishOpening();
  await waitFor(() => opening.length === 1 && opening[0]!.destroyed, {
    what: 'the spare that finished opening after clear() to be closed',
    timeoutMs: 5_000,
  });
  t.is(spares.take('ready'), undefined);
  t.is(spares.take('slow'), undefined);
});
