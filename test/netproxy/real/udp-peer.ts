/**
 * UDP peer for the conntrack test, run inside a lab namespace:
 *   server <port> <name>            answers every datagram with "<name>", prints "<name> got <text>"
 *   client <ip> <port> <sport> <n> <intervalMs>   sends n datagrams from a fixed source port, prints replies
 */
import { createSocket } from 'node:dgram';

const [mode, a, b, c, d, e] = process.argv.slice(2);
if (mode === 'server') {
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    process.stdout.write(`${b} got ${msg.toString()}\n`);
    sock.send(b ?? '', rinfo.port, rinfo.address);
  });
  sock.bind(Number(a));
} else {
  const sock = createSocket('udp4');
  const total = Number(d);
  let sent = 0;
  sock.on('message', (msg) => process.stdout.write(`reply ${msg.toString()}\n`));
  sock.bind(Number(c), () => {
    const timer = setInterval(() => {
      if (sent >= total) {
        clearInterval(timer);
        sock.close();
        return;
      }
      sock.send(`ping-${sent++}`, Number(b), a ?? '');
    }, Number(e));
  });
}
