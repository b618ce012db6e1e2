/**
 * The client's connections: requests other than watches share a bounded pool (more at once wait
 * for a free connection instead of opening new ones), and watches hold connections of their own,
 * so open watches never keep a request from being sent. Checked against an HTTPS server that
 * counts its connections and answers slowly, with the cluster CA's serving certificate.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import { startInProcess, type InProcessServer } from '../controlplane/in-process.ts';

let cluster: InProcessServer | undefined;
let server: Server | undefined;
let connections = 0;
let url = '';
test.before(async () => {
  cluster = await startInProcess();
  const pki = (name: string) => readFileSync(`${cluster!.dataDir}/pki/${name}`);
  server = createServer({ cert: pki('apiserver.crt'), key: pki('apiserver.key') }, (req, res) => {
    if (req.url?.includes('watch=true')) {
      // a watch that stays open until the client leaves
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('');
      return;
    }
    setTimeout(
      () =>
        res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' } })),
      40,
    );
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  url = `https://127.0.0.1:${address.port}`;
});
test.after.always(async () => {
  server?.closeAllConnections();
  server?.close();
  await cluster?.destroy();
});

test.serial('twenty requests at once over a pool of two use two connections, and all are answered', async (t) => {
  connections = 0;
  const client = new KubeClient({ server: url, ca: cluster!.admin.ca, maxConnections: 2 });
  try {
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.get(refs.configmaps, 'x', 'default')));
    t.is(answers.length, 20);
    t.is(connections, 2);
  } finally {
    client.close();
  }
});

test.serial(
  'open watches do not take the pool: a request still goes out with three watches open on a pool of one',
  async (t) => {
    connections = 0;
    const client = new KubeClient({ server: url, ca: cluster!.admin.ca, maxConnections: 1 });
    const stop = new AbortController();
    const watches = Array.from({ length: 3 }, () =>
      (async () => {
        for await (const _ of client.watch(refs.configmaps, { namespace: 'default', signal: stop.signal })) break;
      })().catch(() => undefined),
    );
    try {
      const answer = await client.get(refs.configmaps, 'x', 'default');
      t.is(answer.metadata.name, 'x');
      t.is(connections, 4, 'three watch connections and one for requests');
    } finally {
      stop.abort();
      await Promise.all(watches);
      client.close();
    }
  },
);
