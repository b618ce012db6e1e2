/**
 * `--controllers-loopback`: the server's scheduler and controllers reach its API in process (the
 * default) or over loopback HTTPS, with the same result either way: the same writes, as the same
 * user with the same User-Agent in the audit log. In process they hold no TCP connection to the
 * server, and the identity they are served as belongs to their connection: nothing a remote client
 * sends can claim it.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { KubeClient } from '../../../kube/client.ts';
import type { Pod } from '../../../kube/corev1.ts';
import { ApiError } from '../../../kube/errors.ts';
import { refs } from '../../../kube/resource-ref.ts';
import { loopbackClientConfig, type ControllersLoopback } from '../../../controlplane/loopback-client.ts';
import { waitFor } from '../../helpers/wait.ts';
import { metadataAuditLog } from '../admin-calls.ts';
import { startInProcess, type InProcessServer } from '../in-process.ts';
import { call, namespaceAdmin, userIdentity } from '../server-process.ts';
import { node } from '../scheduler/fixtures.ts';
import { deployment } from '../ha/servers.ts';

const modes: readonly ControllersLoopback[] = ['in-process', 'tcp'];
const auditLogs = new Map(modes.map((mode) => [mode, metadataAuditLog(test)]));
const servers = new Map<ControllersLoopback, InProcessServer>();
/** Each server's admin, itself in process: the test's own requests open no TCP connection either. */
const clients = new Map<ControllersLoopback, KubeClient>();

test.before(async () => {
  await Promise.all(
    modes.map(async (mode) => {
      const server = await startInProcess({
        controlLoops: {},
        controllersLoopback: mode,
        audit: auditLogs.get(mode)!.audit,
      });
      servers.set(mode, server);
      clients.set(
        mode,
        new KubeClient(
          loopbackClientConfig('in-process', server.server.api, {
            ...server.admin,
            cert: server.admin.cert!,
            key: server.admin.key!,
          }),
        ),
      );
    }),
  );
});

test.after.always(async () => {
  for (const client of clients.values()) client.close();
  await Promise.all([...servers.values()].map((s) => s.destroy()));
});

const endpoint = (s: InProcessServer) => ({ dataDir: s.dataDir, port: Number(new URL(s.server.url).port) });

/** Connections established to `port` on this host, counted on the server's side (/proc/net/tcp, tcp6). */
function establishedTo(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hexPort}`) && state === '01') count++;
    }
  }
  return count;
}

/** A Deployment's pod created by the controllers and bound by the scheduler, read back. */
async function rollOut(mode: ControllersLoopback, name: string): Promise<Pod> {
  const client = clients.get(mode)!;
  const { status, ...rest } = node(`${name}-node`);
  await client.create(refs.nodes, { ...rest, metadata: { name: `${name}-node`, labels: rest.metadata.labels } });
  await client.updateStatus(refs.nodes, { ...rest, metadata: { name: `${name}-node` }, status } as never);
  await client.create(refs.deployments, deployment(name));
  return waitFor(
    async () => {
      const pods = await client.list<Pod>(refs.pods, { namespace: 'default', labelSelector: `app=${name}` });
      return pods.items.find((p) => p.spec?.nodeName === `${name}-node`);
    },
    { what: `a pod of ${name} bound to ${name}-node`, timeoutMs: 20_000 },
  );
}

/** The audit log's completed events of this server, once `wanted` finds what it looks for. */
async function auditEvents(mode: ControllersLoopback, wanted: (events: any[]) => boolean): Promise<any[]> {
  const path = auditLogs.get(mode)!.audit.log.path;
  return waitFor(
    () => {
      const events = readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line))
        .filter((e) => e.stage === 'ResponseComplete');
      return wanted(events) ? events : undefined;
    },
    { what: 'the audit events', timeoutMs: 10_000 },
  );
}

for (const mode of modes) {
  test.serial(`${mode}: the loops roll a Deployment out, audited as the admin with their own User-Agent`, async (t) => {
    const pod = await rollOut(mode, `web-${mode}`);
    const created = (e: any) =>
      e.verb === 'create' && e.objectRef?.resource === 'pods' && e.objectRef?.name === pod.metadata.name;
    const bound = (e: any) =>
      e.verb === 'create' && e.objectRef?.subresource === 'binding' && e.objectRef?.name === pod.metadata.name;
    const events = await auditEvents(mode, (all) => all.some(bound));
    const byControllers = events.find(
      (e) =>
        e.verb === 'create' &&
        e.objectRef?.resource === 'pods' &&
        !e.objectRef?.subresource &&
        e.responseStatus?.code === 201 &&
        e.objectRef?.namespace === 'default' &&
        e.userAgent?.startsWith('kube-controller-manager/'),
    );
    t.truthy(byControllers, 'the ReplicaSet controller created the pod');
    const binding = events.find(bound);
    for (const event of [byControllers, binding]) {
      t.is(event.user.username, 'kubernetes-admin');
      t.true(event.user.groups.includes('system:masters'));
      t.deepEqual(event.sourceIPs, ['127.0.0.1']);
    }
    t.is(byControllers.userAgent, 'kube-controller-manager/v1.32.0 (bosun)');
    t.is(binding.userAgent, 'kube-scheduler/v1.32.0 (bosun)');
    t.is(events.filter(created).length, 1);
  });

  test.serial(`${mode}: TCP connections to the server while the loops work`, async (t) => {
    await rollOut(mode, `count-${mode}`);
    const established = establishedTo(endpoint(servers.get(mode)!).port);
    if (mode === 'in-process') t.is(established, 0, 'in process, neither the loops nor the signer dial the port');
    // over tcp: the loops' watches and requests, multiplexed over HTTP/2 (one connection per
    // identity, and they share the admin's)
    else t.true(established >= 1, `${established} connections over loopback`);
  });
}

test('the in-process identity belongs to the connection: a remote client cannot claim it', async (t) => {
  const server = servers.get('in-process')!;
  const admin = clients.get('in-process')!;
  const pod = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'app', image: 'busybox' }] },
  });
  // another subject bound to an in-process connection is that subject, nothing more
  const mallory = new KubeClient({
    ...server.admin,
    connect: () => server.server.api.connectInProcess({ CN: 'mallory', O: 'developers' }),
  });
  try {
    const refused = await mallory.create(refs.pods, pod('by-mallory')).catch((err: unknown) => err);
    t.true(refused instanceof ApiError && refused.code === 403, String(refused));
    t.regex((refused as ApiError).message, /User "mallory" cannot create resource "pods"/);
  } finally {
    mallory.close();
  }
  // a remote client without a certificate, sending what the loops send and what proxies forward
  const forged = {
    'User-Agent': 'kube-controller-manager/v1.32.0 (bosun)',
    'X-Remote-User': 'kubernetes-admin',
    'X-Remote-Group': 'system:masters',
    'X-Forwarded-For': '127.0.0.1',
    Impersonate: 'in-process',
  };
  const anonymous = await call(
    endpoint(server),
    'POST',
    '/api/v1/namespaces/default/pods',
    {},
    pod('by-anonymous'),
    'application/json',
    forged,
  );
  t.is(anonymous.status, 403);
  t.regex(anonymous.body.message, /User "system:anonymous"/);
  // a user with a certificate of its own, asking to be the admin
  const someone = userIdentity(server.dataDir, 'someone', ['developers']);
  const impersonating = await call(
    endpoint(server),
    'POST',
    '/api/v1/namespaces/default/pods',
    someone,
    pod('by-someone'),
    'application/json',
    { ...forged, 'Impersonate-User': 'kubernetes-admin', 'Impersonate-Group': 'system:masters' },
  );
  t.is(impersonating.status, 403);
  // a namespace's admin and a node, with the loops' headers, in a namespace that is not theirs
  const hostile = [
    ['tenant-admin', await namespaceAdmin(endpoint(server), 'tenant', 'tenant-admin')],
    ['node', userIdentity(server.dataDir, 'system:node:loopback-node', ['system:nodes'])],
  ] as const;
  for (const [who, identity] of hostile) {
    const reply = await call(
      endpoint(server),
      'POST',
      '/api/v1/namespaces/kube-system/pods',
      identity,
      { ...pod(`by-${who}`), metadata: { name: `by-${who}`, namespace: 'kube-system' } },
      'application/json',
      forged,
    );
    t.is(reply.status, 403, `${who}: ${JSON.stringify(reply.body)}`);
    const stored = await admin.get(refs.pods, `by-${who}`, 'kube-system').catch((err: unknown) => err);
    t.true(stored instanceof ApiError && stored.reason === 'NotFound', `${who}'s pod was not stored`);
  }
  // plain HTTP on the server's port reaches no handler
  const plain = await new Promise<string>((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: endpoint(server).port,
        method: 'POST',
        path: '/api/v1/namespaces/default/pods',
        headers: { 'Content-Type': 'application/json', ...forged },
      },
      (res) => resolve(`HTTP ${res.statusCode}`),
    );
    req.on('error', (err) => resolve(`error: ${err.message}`));
    req.end(JSON.stringify(pod('by-plain-http')));
  });
  t.notRegex(plain, /HTTP 2\d\d/);
  for (const name of ['by-mallory', 'by-anonymous', 'by-someone', 'by-plain-http']) {
    const stored = await admin.get(refs.pods, name, 'default').catch((err: unknown) => err);
    t.true(stored instanceof ApiError && stored.reason === 'NotFound', `${name} was not stored`);
  }
  // and the server still answers its clients, remote and in process
  t.is(
    (
      await call(endpoint(server), 'GET', '/api/v1/namespaces/default', {
        cert: server.admin.cert,
        key: server.admin.key,
      })
    ).status,
    200,
  );
  t.is((await admin.get(refs.namespaces, 'default')).metadata.name, 'default');
});

test('after the server closed, an in-process request fails as a refused connection does', async (t) => {
  const closed = await startInProcess();
  const admin = { ...closed.admin, cert: closed.admin.cert!, key: closed.admin.key! };
  const client = new KubeClient(loopbackClientConfig('in-process', closed.server.api, admin));
  try {
    t.is((await client.get(refs.namespaces, 'default')).metadata.name, 'default');
    await closed.destroy();
    const refused = await client.get(refs.namespaces, 'default').catch((err: unknown) => err);
    t.true(refused instanceof ApiError && refused.reason === 'ServiceUnavailable', String(refused));
  } finally {
    client.close();
  }
});
