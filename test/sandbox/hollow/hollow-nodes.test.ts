/**
 * Hollow nodes against a real `bosun server` on loopback (scheduler and controllers on): a
 * `bosun hollow` process joins three nodes through the real bootstrap path (one CSR and one
 * client certificate each), they become Ready and renew their leases, and a Deployment's
 * replicas are scheduled onto them and reported Running by their agents. Stopping the process
 * (SIGTERM) ends it cleanly. No containers, routes or rules: the runtime and iptables are fakes.
 * The pods carry no token volume: the volume manager would mount a real tmpfs for it on the host
 * (it has no seam for hollow nodes yet), and the hollow process could then not remove its folder.
 */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import forge from 'node-forge';
import { KubeClient } from '../../../kube/client.ts';
import { loadKubeconfig } from '../../../kube/kubeconfig.ts';
import { refs } from '../../../kube/resource-ref.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { HollowProcess } from '../../../bench/scale/hollow-process.ts';
import { joinArgs } from '../../../bench/scale/join-args.ts';
import { adminIdentity, call, startServerProcess, type ServerProcess } from '../../controlplane/server-process.ts';
import { waitFor } from '../../helpers/wait.ts';

const nodeCount = 3;
const replicas = 6;

let server: ServerProcess;
let admin: KubeClient;
let hollow: HollowProcess;

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite', controllers: true });
  admin = new KubeClient({ ...loadKubeconfig(server.kubeconfig).client, timeoutMs: 60_000 });
  const joinTail = await joinArgs(server);
  hollow = new HollowProcess({
    server: server.url,
    joinArgs: joinTail,
    nodes: nodeCount,
    firstIndex: 7,
    namePrefix: 'hollow-test',
    joinConcurrency: 2,
    podResyncSeconds: 5,
  });
});

test.after.always(async () => {
  await hollow?.stop();
  admin?.close();
  await server?.destroy();
});

type NodeObject = KubeObject & {
  status?: { conditions?: { type: string; status: string }[]; addresses?: { type: string; address: string }[] };
};
type PodObject = KubeObject & {
  spec?: { nodeName?: string; volumes?: { projected?: { sources?: { serviceAccountToken?: unknown }[] } }[] };
  status?: { phase?: string };
};

test.serial('each hollow node joins with its own certificate, registers and becomes Ready', async (t) => {
  const names = ['hollow-test-0007', 'hollow-test-0008', 'hollow-test-0009'];
  await waitFor(
    async () => {
      if (!hollow.running) throw new Error(`bosun hollow ${hollow.exitReason}`);
      const nodes = (await admin.list<NodeObject>(refs.nodes)).items;
      const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === nodeCount;
    },
    {
      what: `${nodeCount} hollow nodes Ready (hollow stderr: ${hollow.stderrTail.slice(-300)})`,
      timeoutMs: 180_000,
      intervalMs: 500,
    },
  );
  const nodes = (await admin.list<NodeObject>(refs.nodes)).items;
  t.deepEqual(nodes.map((n) => n.metadata.name).sort(), names);
  // distinct, never-routed InternalIPs
  t.deepEqual(nodes.map((n) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).sort(), [
    '198.18.0.7',
    '198.18.0.8',
    '198.18.0.9',
  ]);

  // one issued CSR per node, each certificate for that node's own identity
  const csrs = (
    await admin.list<KubeObject & { spec: { request: string }; status?: { certificate?: string } }>(
      refs.certificatesigningrequests,
    )
  ).items;
  const subjects = csrs.map((csr) => {
    t.truthy(csr.status?.certificate, `${csr.metadata.name} was issued`);
    const cert = new X509Certificate(Buffer.from(csr.status!.certificate!, 'base64'));
    const request = forge.pki.certificationRequestFromPem(Buffer.from(csr.spec.request, 'base64').toString('utf8'));
    t.is(
      cert.subject
        .split('\n')
        .find((l) => l.startsWith('CN='))
        ?.slice(3),
      request.subject.getField('CN').value,
    );
    return cert.subject
      .split('\n')
      .find((l) => l.startsWith('CN='))!
      .slice(3);
  });
  t.deepEqual(
    subjects.sort(),
    names.map((n) => `system:node:${n}`),
  );

  // heartbeats: every node holds a lease it renews
  await waitFor(
    async () => {
      const leases = (
        await admin.list<KubeObject & { spec?: { holderIdentity?: string; renewTime?: string } }>(refs.leases, {
          namespace: 'kube-node-lease',
        })
      ).items;
      return (
        leases.filter((l) => names.includes(l.spec?.holderIdentity ?? '') && l.spec?.renewTime).length === nodeCount
      );
    },
    { what: 'a renewed lease for every hollow node', timeoutMs: 60_000, intervalMs: 500 },
  );
  t.is(hollow.latest?.failed ?? 0, 0);

  // one HTTP/2 connection per node for all its clients and watches (this bed held 92 connections
  // over HTTP/1.1); besides them only this test's admin and the server's own clients are connected
  const metrics = String((await call(server, 'GET', '/metrics', adminIdentity(server.dataDir))).body);
  const open = (protocol: string) =>
    Number(
      metrics.match(new RegExp(`^bosun_apiserver_open_connections\\{protocol="${protocol}"\\} (\\d+)$`, 'm'))?.[1],
    );
  t.log(`open connections: ${open('h2')} HTTP/2, ${open('http/1.1')} HTTP/1.1`);
  t.true(open('h2') <= nodeCount + 2, `h2 connections: ${open('h2')}`);
  // this request's own, and the join's discovery requests (plain HTTPS) until their idle timeout
  t.true(open('http/1.1') <= 1 + nodeCount, `HTTP/1.1 connections: ${open('http/1.1')}`);
});

test.serial(
  "a Deployment's replicas, with their default token volume, run on the hollow nodes and are reported Running; nothing is mounted on the host",
  async (t) => {
    await admin.create(refs.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'app', image: 'registry.local/web:1' }] },
        },
      },
    } as KubeObject);
    await waitFor(
      async () => {
        const pods = (await admin.list<PodObject>(refs.pods, { namespace: 'default', labelSelector: 'app=web' })).items;
        return pods.length === replicas && pods.every((p) => p.status?.phase === 'Running');
      },
      { what: `${replicas} web pods Running`, timeoutMs: 180_000, intervalMs: 500 },
    );
    const pods = (await admin.list<PodObject>(refs.pods, { namespace: 'default', labelSelector: 'app=web' })).items;
    t.true(pods.every((p) => p.spec?.nodeName?.startsWith('hollow-test-')));
    t.true(
      new Set(pods.map((p) => p.spec?.nodeName)).size > 1,
      'the scheduler spread the replicas over more than one node',
    );
    t.true(
      pods.every((p) =>
        p.spec?.volumes?.some((v) => v.projected?.sources?.some((source) => source.serviceAccountToken !== undefined)),
      ),
      'each pod has its service-account token volume',
    );
    const mountInfo = await readFile('/proc/self/mountinfo', 'utf8');
    t.false(mountInfo.includes('/hollow-test-'), 'no volume of a hollow node is mounted on the host');
    await waitFor(
      async () => {
        const deployment = await admin.get<KubeObject & { status?: { readyReplicas?: number } }>(
          refs.deployments,
          'web',
          'default',
        );
        return deployment.status?.readyReplicas === replicas;
      },
      { what: `the Deployment reporting ${replicas} ready replicas`, timeoutMs: 120_000, intervalMs: 500 },
    );
    t.pass();
  },
);

test.serial('SIGTERM stops every hollow node and the process exits', async (t) => {
  await hollow.stop(30_000);
  t.false(hollow.running);
  t.regex(hollow.exitReason ?? '', /^exited 0/);
});
