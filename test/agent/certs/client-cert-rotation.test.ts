/**
 * The node's client certificate is renewed at about two thirds of its life: with a manual clock and
 * a stateful fake issuer (which can be told to fail), and against a real `bosun server`, whose
 * approver accepts a renewal asked for by the node itself.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ManualClock } from '../manual-clock.ts';
import {
  ClientCertRotator,
  kubeconfigCertificate,
  requestClientCertificate,
  rotationDeadline,
} from '../../../agent/certs/client-cert-rotation.ts';
import { createCertificateAuthority, issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { writeAgentKubeconfig } from '../../../host/join/write-kubeconfig.ts';
import { requestNodeCertificate } from '../../../host/join/tls-bootstrap.ts';
import { startServerProcess, type ServerProcess } from '../../controlplane/server-process.ts';
import { KubeClient } from '../../../kube/client.ts';
import { loadKubeconfig } from '../../../kube/kubeconfig.ts';
import type { ResourceRef } from '../../../kube/resource-ref.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { run } from '../../helpers/run.ts';
import { waitFor } from '../../helpers/wait.ts';

/** authentication.k8s.io/v1 SelfSubjectReview: the server's answer to "who am I". */
interface SelfSubjectReview extends KubeObject {
  status?: { userInfo?: { username?: string; groups?: string[] } };
}
const selfSubjectReviews: ResourceRef = {
  group: 'authentication.k8s.io',
  version: 'v1',
  resource: 'selfsubjectreviews',
  namespaced: false,
};

const bosun = join(import.meta.dirname, '..', '..', '..', 'bin', 'bosun');
const dirs: string[] = [];
let server: ServerProcess | undefined;
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bosun-rotation-'));
  dirs.push(d);
  return d;
};
test.after.always(async () => {
  await server?.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ca = createCertificateAuthority('test-ca');
const issue = (days: number) => {
  const pair = issueCertificate(ca, {
    commonName: 'system:node:n1',
    organizations: ['system:nodes'],
    usage: 'client',
    days,
  });
  return { certPem: pair.cert, keyPem: pair.key };
};

/** Lets the rotator's promise chain run after the clock moved. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('renews at two thirds of the life, rewrites the kubeconfig atomically (0600), retries a failed attempt', async (t) => {
  const path = join(tempDir(), 'agent.kubeconfig');
  const first = issue(3);
  writeAgentKubeconfig(path, { server: 'https://127.0.0.1:6443', caPem: ca.cert, nodeName: 'n1', ...first });
  const due = rotationDeadline(first.certPem);
  const from = Date.parse(new X509Certificate(first.certPem).validFrom);
  t.is(Math.round((due - from) / 3600_000), 48, '2/3 of three days');
  const clock = new ManualClock(from);
  const issued: string[] = [];
  let failuresToGive = 1;
  const rotated: string[] = [];
  const errors: string[] = [];
  const rotator = new ClientCertRotator({
    kubeconfigPath: path,
    clock,
    retryMs: 60_000,
    request: async () => {
      if (failuresToGive-- > 0) throw new Error('the API server is away');
      const next = issue(3);
      issued.push(next.certPem);
      return next;
    },
    onRotated: (cert) => rotated.push(cert),
    onError: (err) => errors.push(err.message),
  });
  const abort = new AbortController();
  const running = rotator.run(abort.signal);
  await settle();
  clock.advance(due - from - 1_000);
  await settle();
  t.deepEqual(rotated, [], 'nothing before the deadline');
  clock.advance(2_000);
  await settle();
  t.deepEqual(errors, ['the API server is away'], 'the first attempt failed');
  t.deepEqual(rotated, []);
  t.is(
    kubeconfigCertificate(readFileSync(path, 'utf8')),
    first.certPem,
    'the old certificate stays until a new one is issued',
  );
  clock.advance(60_000);
  await settle();
  t.is(rotated.length, 1, 'the retry renewed it');
  t.is(kubeconfigCertificate(readFileSync(path, 'utf8')), issued[0]!);
  t.is(statSync(path).mode & 0o777, 0o600);
  t.is(loadKubeconfig(path).client.cert, issued[0]!, 'the kubeconfig loads with the new certificate');
  abort.abort();
  await running;
});

test('against a real server: a renewal asked with the node certificate is approved and works', async (t) => {
  server = await startServerProcess({ datastore: 'sqlite' });
  const created = await run([bosun, 'token', 'create', '--kubeconfig', server.kubeconfig]);
  t.is(created.code, 0, created.stderr);
  const admin = loadKubeconfig(server.kubeconfig).client;
  const bootstrap = await requestNodeCertificate(admin.server, admin.ca, created.stdout.trim(), 'rotator-1');
  const path = join(tempDir(), 'agent.kubeconfig');
  writeAgentKubeconfig(path, { server: admin.server, caPem: admin.ca!, nodeName: 'rotator-1', ...bootstrap });
  // a year-long certificate: move the clock past two thirds of it instead of waiting
  const clock = new ManualClock(rotationDeadline(bootstrap.certPem) + 1_000);
  const nodeClient = new KubeClient(loadKubeconfig(path).client);
  const rotator = new ClientCertRotator({
    kubeconfigPath: path,
    clock,
    request: () => requestClientCertificate(nodeClient, 'rotator-1', 60_000),
  });
  try {
    t.true(await rotator.rotateIfDue());
  } finally {
    nodeClient.close();
  }
  const renewed = new X509Certificate(kubeconfigCertificate(readFileSync(path, 'utf8')));
  t.not(renewed.serialNumber, new X509Certificate(bootstrap.certPem).serialNumber);
  t.regex(renewed.subject, /CN=system:node:rotator-1/);
  t.true(renewed.checkIssued(new X509Certificate(admin.ca!)));
  const csrs = await waitFor(
    async () => {
      const out = await run([
        'kubectl',
        '--kubeconfig',
        server!.kubeconfig,
        'get',
        'csr',
        '-o',
        'jsonpath={range .items[*]}{.spec.username}{"\\n"}{end}',
      ]);
      return out.stdout.includes('system:node:rotator-1') ? out.stdout : undefined;
    },
    { what: 'a CSR asked for by system:node:rotator-1', timeoutMs: 10_000 },
  );
  t.regex(csrs, /system:node:rotator-1/, 'the renewal was asked for with the node identity, not the token');
  // the server itself says who the renewed kubeconfig authenticates as: any failure fails the test
  const renewedClient = new KubeClient(loadKubeconfig(path).client);
  try {
    const review = await renewedClient.create<SelfSubjectReview>(selfSubjectReviews, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
      metadata: {},
    });
    t.is(review.status?.userInfo?.username, 'system:node:rotator-1', 'the new certificate authenticates as the node');
    t.true(review.status?.userInfo?.groups?.includes('system:nodes'), JSON.stringify(review.status));
  } finally {
    renewedClient.close();
  }
});
