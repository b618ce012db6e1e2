/**
 * A protobuf body whose timestamp no date can hold: the server answered 500 InternalError with
 * V8's words ("Invalid time value"). It is the client's malformed body: 400, nothing stored, and
 * the server keeps answering. Sent by a namespace admin to a real server process.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { call, type Identity } from '../controlplane/server-process.ts';
import { sharedTenantServer } from './tenant-server.ts';

const ns = 'team-protobuf';

const tenant = sharedTenantServer(test, ns);

const varint = (value: bigint): number[] => {
  const out: number[] = [];
  do {
    const low = Number(value & 0x7fn);
    value >>= 7n;
    out.push(value > 0n ? low | 0x80 : low);
  } while (value > 0n);
  return out;
};
const bytesField = (number: number, bytes: number[]) => [
  ...varint(BigInt((number << 3) | 2)),
  ...varint(BigInt(bytes.length)),
  ...bytes,
];
const varintField = (number: number, value: bigint) => [...varint(BigInt(number << 3)), ...varint(value)];
const text = (s: string) => [...Buffer.from(s)];

/** POSTs raw bytes (call() sends text) as a protobuf body. */
async function postProtobuf(path: string, identity: Identity, body: Buffer): Promise<{ status: number; body: any }> {
  const { server } = await tenant();
  const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'POST',
        path,
        ca,
        cert: identity.cert,
        key: identity.key,
        headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf', 'Content-Length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('a ConfigMap whose creationTimestamp is 2^62 seconds is a malformed body: 400, nothing stored', async (t) => {
  const { server, admin, alice } = await tenant();
  // ObjectMeta {1: name, 8: creationTimestamp {1: seconds}} in ConfigMap {1: metadata}, in the k8s envelope
  const metadata = [...bytesField(1, text('far-future')), ...bytesField(8, varintField(1, 2n ** 62n))];
  const envelope = [
    ...bytesField(1, [...bytesField(1, text('v1')), ...bytesField(2, text('ConfigMap'))]),
    ...bytesField(2, bytesField(1, metadata)),
  ];
  const reply = await postProtobuf(
    `/api/v1/namespaces/${ns}/configmaps`,
    alice,
    Buffer.from([0x6b, 0x38, 0x73, 0x00, ...envelope]),
  );
  t.like(reply, { status: 400, body: { kind: 'Status', reason: 'BadRequest' } });
  t.regex(reply.body.message, /^the protobuf body is malformed: timestamp of \d+ seconds is out of range$/);
  t.is((await call(server, 'GET', `/api/v1/namespaces/${ns}/configmaps/far-future`, admin)).status, 404);
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});
