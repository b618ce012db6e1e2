/**
 * A stand-in for the resolvers of a node's resolv.conf, run by the cluster DNS test inside the
 * sandbox's hub namespace (nothing leaves the machine): `<address> <port>`; answers A queries for
 * names under example.test with 192.0.2.99, NXDOMAIN with an SOA for the rest, and prints every
 * question it gets as `QUERY <name> <type>` so the test can count what the node's DNS forwarded.
 */
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

const [address = '127.0.0.1', port = '53'] = process.argv.slice(2);
const socket = createSocket('udp4');
socket.on('message', (message, remote) => {
  const query = dnsPacket.decode(message);
  const question = query.questions?.[0];
  if (question === undefined) return;
  process.stdout.write(`QUERY ${question.name} ${question.type}\n`);
  const known = question.name.toLowerCase() === 'outside.example.test';
  const answers =
    known && question.type === 'A' ? [{ type: 'A' as const, name: question.name, ttl: 60, data: '192.0.2.99' }] : [];
  const soa = {
    type: 'SOA' as const,
    name: 'example.test',
    ttl: 60,
    data: {
      mname: 'ns.example.test',
      rname: 'hostmaster.example.test',
      serial: 1,
      refresh: 60,
      retry: 60,
      expire: 60,
      minimum: 60,
    },
  };
  socket.send(
    dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
      questions: [question],
      answers,
      authorities: answers.length > 0 ? [] : [soa],
    }),
    remote.port,
    remote.address,
  );
});
socket.bind(Number(port), address, () => process.stdout.write(`LISTENING ${address}:${port}\n`));
process.on('SIGTERM', () => process.exit(0));
