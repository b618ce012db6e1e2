/**
 * A gRPC health server (grpc.health.v1.Health/Check) for probe tests: answers SERVING until it
 * gets SIGUSR2, NOT_SERVING after. Messages are encoded by hand: the request carries only
 * `service` (field 1, string) and the response only `status` (field 1, enum; 1 SERVING, 2 NOT_SERVING).
 *
 *   node grpc-health-server.ts <address> <port>     prints "listening" once it accepts calls
 */
import * as grpc from '@grpc/grpc-js';

const [address = '127.0.0.1', port = '50051'] = process.argv.slice(2);
let status = 1;
process.on('SIGUSR2', () => {
  status = 2;
});
process.on('SIGTERM', () => process.exit(0));

const identity = (b: Buffer) => b;
const server = new grpc.Server();
server.addService(
  {
    Check: {
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  {
    Check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, Buffer.from([0x08, status])),
  },
);
server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    process.stderr.write(`cannot listen on ${address}:${port}: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write('listening\n');
});
