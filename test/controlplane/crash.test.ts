/**
 * kill -9 of `bosun server` (sqlite) in the middle of a write loop loses no write that it had
 * acknowledged: after a restart on the same data dir every acknowledged object is there, with the
 * content it was acknowledged with.
 */
import test from 'ava';
import { adminIdentity, call, startServerProcess, type ServerProcess } from './server-process.ts';

const servers: ServerProcess[] = [];
test.after.always(async () => {
  for (const s of servers.reverse()) await s.destroy();
});

test('acknowledged writes survive kill -9 of the server', async (t) => {
  const server = await startServerProcess({ datastore: 'sqlite' });
  servers.push(server);
  const admin = adminIdentity(server.dataDir);
  const acked: { name: string; value: string }[] = [];
  let stop = false;
  // Four concurrent writers, bounded in count; the kill lands while they are busy.
  const writer = async (id: number) => {
    for (let i = 0; i < 2000 && !stop; i++) {
      const name = `w${id}-${i}`;
      const value = `${id}:${i}:${'x'.repeat(100)}`;
      try {
        const reply = await call(server, 'POST', '/api/v1/namespaces/default/configmaps', admin, {
          metadata: { name },
          data: { v: value },
        });
        if (reply.status === 201) acked.push({ name, value });
      } catch {
        return; // the connection died with the server
      }
    }
  };
  const writers = [0, 1, 2, 3].map(writer);
  const deadline = Date.now() + 30_000;
  while (acked.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.true(acked.length >= 200, `only ${acked.length} writes were acknowledged before the kill`);
  await server.kill();
  stop = true;
  await Promise.all(writers);
  const restarted = await server.restart();
  servers.push(restarted);
  const list = await call(restarted, 'GET', '/api/v1/namespaces/default/configmaps', admin);
  t.is(list.status, 200);
  const stored = new Map<string, string>((list.body.items as any[]).map((cm) => [cm.metadata.name, cm.data.v]));
  const lost = acked.filter((a) => stored.get(a.name) !== a.value).map((a) => a.name);
  t.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged writes were lost`);
  t.log(`${acked.length} acknowledged writes before kill -9; all present after restart`);
});
