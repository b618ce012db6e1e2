/**
 * A tiny TCP throughput tool for the pod network bench (busybox has no iperf):
 *   node tcp-stream.ts serve <address> <port>      reads each connection to its end, answers "ok"
 *   node tcp-stream.ts send <host> <port> <MiB>    sends MiB of zeros, waits for the answer, prints
 *                                                  {"bytes":..,"seconds":..,"mbitPerSecond":..}
 * Run inside whichever network namespace is measured (a pod's, a node's): the same program on
 * both paths, so only the path differs.
 */
import { connect, createServer } from 'node:net';

const [mode, host = '', portText = '0', mibText = '64'] = process.argv.slice(2);
const port = Number(portText);

if (mode === 'serve') {
  const server = createServer((socket) => {
    socket.on('data', () => {});
    socket.on('end', () => socket.end('ok'));
    socket.on('error', () => socket.destroy());
  });
  server.listen(port, host, () => process.stdout.write('LISTENING\n'));
} else if (mode === 'send') {
  const total = Number(mibText) * 1024 * 1024;
  const chunk = Buffer.alloc(256 * 1024);
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  let started = 0n;
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      sent += chunk.length;
      if (!socket.write(chunk)) return void socket.once('drain', pump);
    }
    socket.end();
  };
  socket.on('connect', () => {
    started = process.hrtime.bigint();
    pump();
  });
  socket.on('data', () => {});
  socket.on('end', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stdout.write(`${JSON.stringify({ bytes: sent, seconds, mbitPerSecond: (sent * 8) / seconds / 1e6 })}\n`);
    process.exit(0);
  });
  socket.on('error', (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
  setTimeout(() => {
    process.stderr.write('timed out\n');
    process.exit(1);
  }, 60_000).unref();
} else {
  process.stderr.write('usage: tcp-stream.ts serve <address> <port> | send <host> <port> <MiB>\n');
  process.exit(2);
}
