/**
 * The audit log (--audit-policy-file, --audit-log-path) driven by a real kubectl session: each
 * policy level gives upstream's event shape (Metadata: no bodies; Request: the request object;
 * RequestResponse: both), None gives nothing, Secrets stay at Metadata under a RequestResponse
 * catch-all, watches get ResponseStarted, the Audit-Id header names the event, and a policy file
 * with a mistake stops the server with one line. Rotation by size is checked on the writer.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AuditLogWriter, backupName } from '../../../controlplane/audit/log-writer.ts';
import { waitFor } from '../ports.ts';
import { adminIdentity, call, startServerProcess, type Identity, type ServerProcess } from '../server-process.ts';
import { kubectl as runKubectl } from '../../bed/kubectl.ts';

const folder = mkdtempSync(join(tmpdir(), `bosun-audit-${process.pid}-`));
const policyPath = join(folder, 'policy.yaml');
const logPath = join(folder, 'log', 'audit.log');
const password = 'correct-horse-battery';

writeFileSync(
  policyPath,
  `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
omitManagedFields: true
rules:
  - level: None
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"]
  - level: None
    resources: [{ group: "", resources: ["events"] }]
  - level: Metadata
    resources: [{ group: "", resources: ["configmaps"] }]
  - level: Request
    resources: [{ group: "", resources: ["services"] }]
  - level: RequestResponse
`,
);

let server: ServerProcess;
let admin: Identity;
test.before(async () => {
  server = await startServerProcess({
    datastore: 'sqlite',
    serverArgs: ['--audit-policy-file', policyPath, '--audit-log-path', logPath],
  });
  admin = adminIdentity(server.dataDir);
});
test.after.always(async () => {
  await server?.destroy();
  rmSync(folder, { recursive: true, force: true });
});

interface Event {
  level: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string; groups: string[] };
  impersonatedUser?: { username: string };
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string };
  responseStatus?: { code: number; reason?: string };
  requestObject?: { metadata?: { name?: string; managedFields?: unknown } };
  responseObject?: { metadata?: { name?: string; managedFields?: unknown } };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

function events(): Event[] {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Event);
}

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runKubectl({ kubeconfig: server.kubeconfig }, args);
}

/** The ResponseComplete events of one kubectl step, found by verb, resource and name. */
async function completed(verb: string, resource: string, name: string): Promise<Event> {
  let found: Event | undefined;
  await waitFor(
    `an audit event for ${verb} ${resource}/${name}`,
    () => {
      found = events().find(
        (e) =>
          e.stage === 'ResponseComplete' &&
          e.verb === verb &&
          e.objectRef?.resource === resource &&
          e.objectRef.name === name,
      );
      return found !== undefined;
    },
    10_000,
  );
  return found!;
}

const micro = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

test.serial('a kubectl session: one event shape per level, None leaves nothing', async (t) => {
  t.is((await kubectl('create', 'configmap', 'cm1', '--from-literal=a=b')).code, 0);
  t.is((await kubectl('create', 'service', 'clusterip', 'svc1', '--tcp=80:80')).code, 0);
  t.is((await kubectl('create', 'namespace', 'audited')).code, 0);
  t.is((await kubectl('version')).code, 0);

  const metadata = await completed('create', 'configmaps', 'cm1');
  t.like(metadata, {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    requestURI: '/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict',
  } as never);
  t.like(metadata, {
    user: { username: 'kubernetes-admin' },
    objectRef: { resource: 'configmaps', namespace: 'default', name: 'cm1', apiVersion: 'v1' },
    responseStatus: { code: 201 },
  });
  t.true(metadata.user.groups.includes('system:masters'));
  t.deepEqual(metadata.sourceIPs, ['127.0.0.1']);
  t.regex(metadata.userAgent ?? '', /^kubectl/);
  t.regex(metadata.requestReceivedTimestamp, micro);
  t.regex(metadata.stageTimestamp, micro);
  t.is(metadata.annotations?.['authorization.k8s.io/decision'], 'allow');
  t.true('authorization.k8s.io/reason' in (metadata.annotations ?? {}));
  t.is(metadata.requestObject, undefined);
  t.is(metadata.responseObject, undefined);

  const request = await completed('create', 'services', 'svc1');
  t.is(request.level, 'Request');
  t.is(request.requestObject?.metadata?.name, 'svc1');
  t.is(request.responseObject, undefined);

  const both = await completed('create', 'namespaces', 'audited');
  t.is(both.level, 'RequestResponse');
  t.is(both.requestObject?.metadata?.name, 'audited');
  t.is(both.responseObject?.metadata?.name, 'audited');
  t.is(both.responseObject?.metadata?.managedFields, undefined, 'omitManagedFields');

  const all = events();
  t.false(
    all.some((e) => e.requestURI === '/version'),
    '/version is at None',
  );
  t.false(
    all.some((e) => e.stage === 'RequestReceived'),
    'RequestReceived is omitted',
  );
});

test.serial('Secrets stay at Metadata under a RequestResponse catch-all', async (t) => {
  t.is((await kubectl('create', 'secret', 'generic', 's1', `--from-literal=password=${password}`)).code, 0);
  t.is((await kubectl('get', 'secret', 's1', '-o', 'yaml')).code, 0);
  const created = await completed('create', 'secrets', 's1');
  const read = await completed('get', 'secrets', 's1');
  for (const event of [created, read]) {
    t.is(event.level, 'Metadata');
    t.is(event.requestObject, undefined);
    t.is(event.responseObject, undefined);
  }
  const text = readFileSync(logPath, 'utf8');
  t.false(text.includes(password));
  t.false(text.includes(Buffer.from(password).toString('base64')));
});

test.serial('a watch gets ResponseStarted and ResponseComplete; Audit-Id names the event', async (t) => {
  const watched = await call(server, 'GET', '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1', admin);
  const id = watched.headers['audit-id'];
  t.is(typeof id, 'string');
  await waitFor("the watch's events", () => events().filter((e) => e.auditID === id).length === 2, 10_000);
  t.deepEqual(
    events()
      .filter((e) => e.auditID === id)
      .map((e) => [e.stage, e.verb, e.level]),
    [
      ['ResponseStarted', 'watch', 'Metadata'],
      ['ResponseComplete', 'watch', 'Metadata'],
    ],
  );
  const got = await call(server, 'GET', '/api/v1/namespaces/default/configmaps/cm1', admin);
  await waitFor(
    "the get's event",
    () => events().some((e) => e.auditID === got.headers['audit-id'] && e.verb === 'get'),
    10_000,
  );
});

test.serial('impersonation and refusals: user, impersonatedUser, decision forbid, 403', async (t) => {
  const result = await kubectl('--as=jane', 'get', 'pods', '-n', 'audited');
  t.not(result.code, 0);
  let refused: Event | undefined;
  await waitFor(
    'the refused list',
    () => {
      refused = events().find((e) => e.impersonatedUser?.username === 'jane' && e.objectRef?.resource === 'pods');
      return refused !== undefined;
    },
    10_000,
  );
  t.is(refused!.user.username, 'kubernetes-admin');
  t.is(refused!.responseStatus?.code, 403);
  t.is(refused!.responseStatus?.reason, 'Forbidden');
  t.is(refused!.annotations?.['authorization.k8s.io/decision'], 'forbid');
});

test.serial('an exec (an upgraded connection) is audited too, refusals included', async (t) => {
  const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'));
  const reply = await new Promise<{ status: number; auditId: unknown }>((done, fail) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method: 'POST',
        path: '/api/v1/namespaces/default/pods/ghost/exec?command=sh&stdout=true',
        ca,
        cert: admin.cert,
        key: admin.key,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      },
      (res) => {
        res.resume();
        done({ status: res.statusCode ?? 0, auditId: res.headers['audit-id'] });
      },
    );
    req.on('error', fail);
    req.end();
  });
  t.is(reply.status, 404);
  let exec: Event | undefined;
  await waitFor(
    "the exec's event",
    () => {
      exec = events().find((e) => e.objectRef?.name === 'ghost' && e.stage === 'ResponseComplete');
      return exec !== undefined;
    },
    10_000,
  );
  t.is(exec!.auditID, String(reply.auditId));
  t.like(exec!, {
    verb: 'create',
    objectRef: { resource: 'pods', subresource: 'exec', namespace: 'default' },
    responseStatus: { code: 404, reason: 'NotFound' },
  } as never);
  const metrics = String((await call(server, 'GET', '/metrics', admin)).body);
  t.regex(metrics, /^apiserver_audit_event_total [1-9]\d*$/m);
  t.regex(metrics, /^apiserver_audit_error_total\{plugin="log"\} 0$/m);
});

const repo = resolve(import.meta.dirname, '../../..');
test('a policy with a mistake stops the server with one line and exit code 2', async (t) => {
  const bad = join(folder, 'bad-policy.yaml');
  writeFileSync(bad, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Everything\n');
  const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
    const child = spawn(
      process.execPath,
      [
        join(repo, 'cli/main.ts'),
        'server',
        '--data-dir',
        join(folder, 'never'),
        '--audit-policy-file',
        bad,
        '--audit-log-path',
        join(folder, 'x.log'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => done({ code, stderr }));
  });
  t.is(result.code, 2);
  t.is(
    result.stderr.trim(),
    `bosun: --audit-policy-file ${bad}: rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse"`,
  );
});

test("rotation by size keeps upstream's names and honours maxbackup and maxage", async (t) => {
  const dir = mkdtempSync(join(folder, 'rotate-'));
  const path = join(dir, 'audit.log');
  // a backup older than maxage: removed at the next rotation
  const ancient = backupName(path, new Date('2020-01-01T00:00:00.000Z'));
  writeFileSync(ancient, 'old\n');
  let clock = new Date('2026-12-07T05:10:00.000Z').getTime();
  const writer = new AuditLogWriter({
    path,
    maxSizeMB: 1,
    maxBackups: 2,
    maxAgeDays: 30,
    clock: { now: () => (clock += 60_000) },
  });
  const line = JSON.stringify({ pad: 'x'.repeat(1000) });
  for (let i = 0; i < 4000; i++) writer.write(line); // ~4 MB: three rotations
  await writer.close();
  const files = readdirSync(dir).sort();
  t.deepEqual(files, ['audit-2026-12-07T05-12-00.000.log', 'audit-2026-12-07T05-13-00.000.log', 'audit.log']);
  for (const file of files) t.true(statSync(join(dir, file)).size <= 1024 * 1024, file);
  t.false(existsSync(ancient));
});

test('a full queue drops events and counts them instead of waiting', async (t) => {
  const writer = new AuditLogWriter({
    path: join(folder, 'queue', 'audit.log'),
    maxSizeMB: 0,
    maxBackups: 0,
    maxAgeDays: 0,
    queueLimit: 10,
  });
  let accepted = 0;
  for (let i = 0; i < 100; i++) if (writer.write('{"n":1}')) accepted++;
  await writer.close();
  // the first line leaves the queue at once for the disk; ten more fit
  t.is(accepted, 11);
  t.is(writer.dropped, 89);
  t.is(
    readFileSync(join(folder, 'queue', 'audit.log'), 'utf8')
      .split('\n')
      .filter((l) => l).length,
    11,
  );
});
