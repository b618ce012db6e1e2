/** The in-process connection pair behaves as a TCP connection does for Node's HTTP client and server. */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { createCertificateAuthority, issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { boundSubject, openInProcess, subjectOfCertificate } from '../../../controlplane/api/in-process-connection.ts';

test('bytes arrive in order; ending one side ends what the other reads', async (t) => {
  const { client, server } = openInProcess({ CN: 'x' });
  const received: Buffer[] = [];
  server.on('data', (chunk: Buffer) => received.push(chunk));
  client.write('GET / HTTP/1.1\r\n');
  client.end('\r\n');
  await once(server, 'end');
  t.is(Buffer.concat(received).toString(), 'GET / HTTP/1.1\r\n\r\n');
  // half-closed: the server end still writes back
  const answer = once(client, 'data');
  server.end('HTTP/1.1 204 No Content\r\n\r\n');
  t.is(String((await answer)[0]), 'HTTP/1.1 204 No Content\r\n\r\n');
});

test('closing one side closes the other, as a reset does', async (t) => {
  const { client, server } = openInProcess({ CN: 'x' });
  const closed = once(client, 'close');
  server.destroy();
  await closed;
  t.true(client.destroyed);
});

test('a writer waits while its peer does not read, and goes on once it does', async (t) => {
  const { client, server } = openInProcess({ CN: 'x' });
  server.pause();
  const chunk = Buffer.alloc(64 * 1024);
  let accepted = 0;
  while (client.write(chunk) && accepted < 1000) accepted++;
  t.true(accepted < 1000, 'write() said to wait');
  const drained = once(client, 'drain');
  server.resume();
  await drained;
  t.pass();
  client.destroy();
});

test('an idle side times out; setTimeout(0, callback) turns it off and takes the callback off', async (t) => {
  const { client } = openInProcess({ CN: 'x' }) as unknown as {
    client: { setTimeout(ms: number, cb?: () => void): unknown; listenerCount(e: string): number; destroy(): void };
  };
  const fired = new Promise<void>((resolve) => client.setTimeout(20, resolve));
  await fired;
  const callback = () => t.fail('turned off');
  client.setTimeout(20, callback);
  client.setTimeout(0, callback);
  t.is(client.listenerCount('timeout'), 0);
  await new Promise((resolve) => setTimeout(resolve, 60));
  client.destroy();
});

test('only the server side of an in-process pair has a subject', (t) => {
  const { client, server } = openInProcess({ CN: 'kubernetes-admin', O: 'system:masters' });
  t.deepEqual(boundSubject(server), { CN: 'kubernetes-admin', O: 'system:masters' });
  t.is(boundSubject(client), undefined);
  t.is(boundSubject(new PassThrough()), undefined);
  t.true(Object.isFrozen(boundSubject(server)));
});

test('a certificate subject reads as a TLS socket reports it: a repeated field as a list', (t) => {
  const ca = createCertificateAuthority('test-ca');
  const pair = issueCertificate(ca, { commonName: 'someone', organizations: ['a', 'b'], usage: 'client' });
  t.deepEqual(subjectOfCertificate(new X509Certificate(pair.cert).subject), { CN: 'someone', O: ['a', 'b'] });
  const single = issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
  t.deepEqual(subjectOfCertificate(new X509Certificate(single.cert).subject), {
    CN: 'admin',
    O: 'system:masters',
  });
});
