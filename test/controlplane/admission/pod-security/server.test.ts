/**
 * Pod Security admission on a real `bosun server` process, started with
 * `--pod-security-default enforce=baseline,warn=restricted`: namespace labels enforce (403, nothing
 * stored) and warn (`Warning` headers, stored), workload templates are only warned about, the
 * cluster-wide default applies to unlabelled namespaces and kube-system stays exempt, real kubectl
 * prints the warnings, and tightening a namespace's enforce level warns about its existing pods.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { adminIdentity, call, startServerProcess, type Identity, type ServerProcess } from '../../server-process.ts';
import { kubectl as runKubectl } from '../../../bed/kubectl.ts';

let server: ServerProcess;
let admin: Identity;
test.before(async () => {
  server = await startServerProcess({
    datastore: 'sqlite',
    serverArgs: ['--pod-security-default', 'enforce=baseline,warn=restricted'],
  });
  admin = adminIdentity(server.dataDir);
});
test.after.always(async () => {
  await server?.destroy();
});

function namespace(name: string, labels: Record<string, string>) {
  return call(server, 'POST', '/api/v1/namespaces', admin, { metadata: { name, labels } });
}

/** A pod that baseline refuses: the node's network and root folder, like a node debugging pod. */
function hostilePod(name: string) {
  return {
    metadata: { name },
    spec: {
      hostNetwork: true,
      containers: [{ name: 'app', image: 'busybox' }],
      volumes: [{ name: 'h', hostPath: { path: '/' } }],
    },
  };
}

function plainPod(name: string) {
  return { metadata: { name }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };
}

/** The warnings of a reply, decoded from `299 - "text"` as client-go reads them. */
function warnings(headers: Record<string, string | string[] | undefined>): string[] {
  const raw = headers.warning;
  if (raw === undefined) return [];
  const text = Array.isArray(raw) ? raw.join(', ') : raw;
  return [...text.matchAll(/299 - ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string);
}

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return kubectlOf('kubectl', ...args);
}

function kubectlOf(binary: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runKubectl({ kubeconfig: server.kubeconfig, binary }, args);
}

const hostileDetail = 'host namespaces (hostNetwork=true), hostPath volumes (volume "h")';

test('enforce: 403 with upstream message, nothing stored; the namespace still takes allowed pods', async (t) => {
  t.is(
    (
      await namespace('psa-enforce', {
        'pod-security.kubernetes.io/enforce': 'baseline',
        'pod-security.kubernetes.io/warn': 'baseline',
      })
    ).status,
    201,
  );
  const refused = await call(server, 'POST', '/api/v1/namespaces/psa-enforce/pods', admin, hostilePod('h1'));
  t.is(refused.status, 403);
  t.is(refused.body.reason, 'Forbidden');
  t.is(refused.body.message, `pods "h1" is forbidden: violates PodSecurity "baseline:latest": ${hostileDetail}`);
  t.deepEqual(warnings(refused.headers), []);
  t.is((await call(server, 'GET', '/api/v1/namespaces/psa-enforce/pods/h1', admin)).status, 404, 'nothing was stored');
  const dryRun = await call(server, 'POST', '/api/v1/namespaces/psa-enforce/pods?dryRun=All', admin, hostilePod('h2'));
  t.is(dryRun.status, 403, 'a dry run is judged the same way');
  const allowed = await call(server, 'POST', '/api/v1/namespaces/psa-enforce/pods', admin, plainPod('p1'));
  t.is(allowed.status, 201);
  t.deepEqual(warnings(allowed.headers), []);
});

test('warn: the pod is stored and the reply carries the Warning header', async (t) => {
  t.is(
    (
      await namespace('psa-warn', {
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/warn': 'baseline',
      })
    ).status,
    201,
  );
  const created = await call(server, 'POST', '/api/v1/namespaces/psa-warn/pods', admin, hostilePod('h1'));
  t.is(created.status, 201);
  t.deepEqual(warnings(created.headers), [`would violate PodSecurity "baseline:latest": ${hostileDetail}`]);
  t.is((await call(server, 'GET', '/api/v1/namespaces/psa-warn/pods/h1', admin)).status, 200);
});

test('workloads: a Deployment whose template enforce would refuse is stored with a warning', async (t) => {
  t.is(
    (
      await namespace('psa-workload', {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'baseline',
      })
    ).status,
    201,
  );
  const template = { metadata: { labels: { app: 'x' } }, spec: hostilePod('x').spec };
  const created = await call(server, 'POST', '/apis/apps/v1/namespaces/psa-workload/deployments', admin, {
    metadata: { name: 'd' },
    spec: { selector: { matchLabels: { app: 'x' } }, template },
  });
  t.is(created.status, 201);
  t.deepEqual(warnings(created.headers), [`would violate PodSecurity "baseline:latest": ${hostileDetail}`]);
  const cronJob = await call(server, 'POST', '/apis/batch/v1/namespaces/psa-workload/cronjobs', admin, {
    metadata: { name: 'c' },
    spec: {
      schedule: '* * * * *',
      jobTemplate: { spec: { template: { spec: { ...hostilePod('x').spec, restartPolicy: 'Never' } } } },
    },
  });
  t.is(cronJob.status, 201);
  t.is(warnings(cronJob.headers).length, 1, "a CronJob's job template too");
});

test('--pod-security-default applies to unlabelled namespaces; kube-system is exempt; a bad label is 422', async (t) => {
  t.is((await namespace('psa-default', {})).status, 201);
  const refused = await call(server, 'POST', '/api/v1/namespaces/psa-default/pods', admin, hostilePod('h1'));
  t.is(refused.status, 403);
  t.is(refused.body.message, `pods "h1" is forbidden: violates PodSecurity "baseline:latest": ${hostileDetail}`);
  const warned = await call(server, 'POST', '/api/v1/namespaces/psa-default/pods', admin, plainPod('p1'));
  t.is(warned.status, 201);
  t.is(warnings(warned.headers).length, 1);
  t.regex(
    warnings(warned.headers)[0]!,
    /^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
  );
  const system = await call(server, 'POST', '/api/v1/namespaces/kube-system/pods', admin, hostilePod('node-agent'));
  t.is(system.status, 201, 'kube-system stays privileged');
  t.deepEqual(warnings(system.headers), []);
  const bad = await namespace('psa-bad', { 'pod-security.kubernetes.io/enforce': 'strict' });
  t.is(bad.status, 422);
  t.is(
    bad.body.message,
    'Namespace "psa-bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
  );
  t.is((await call(server, 'GET', '/api/v1/namespaces/psa-bad', admin)).status, 404);
});

test('a malformed --pod-security-default stops bosun server with a usage error', (t) => {
  const run = spawnSync(
    process.execPath,
    [
      resolve(import.meta.dirname, '../../../../cli/main.ts'),
      'server',
      '--pod-security-default',
      'enforce=strict',
      '--data-dir',
      join(server.dataDir, 'unused'),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  t.not(run.status, 0);
  t.regex(
    run.stderr,
    /--pod-security-default "enforce=strict": the level must be one of privileged, baseline, restricted/,
  );
});

test('kubectl prints the warnings; labelling a namespace stricter warns about its existing pods', async (t) => {
  t.is(
    (
      await namespace('psa-kubectl', {
        'pod-security.kubernetes.io/enforce': 'privileged',
        'pod-security.kubernetes.io/warn': 'privileged',
      })
    ).status,
    201,
  );
  for (const name of ['web-1', 'web-2'])
    t.is((await call(server, 'POST', '/api/v1/namespaces/psa-kubectl/pods', admin, hostilePod(name))).status, 201);
  const file = join(server.dataDir, 'psa-pod.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...plainPod('plain') }));
  const applied = await kubectl(
    '-n',
    'psa-kubectl',
    'label',
    'namespace',
    'psa-kubectl',
    'pod-security.kubernetes.io/warn=restricted',
    '--overwrite',
  );
  t.is(applied.code, 0, applied.stderr);
  const created = await kubectl('-n', 'psa-kubectl', 'create', '-f', file);
  t.is(created.code, 0, created.stderr);
  t.regex(
    created.stderr,
    /Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "app" must set securityContext.allowPrivilegeEscalation=false\)/,
  );
  const labelled = await kubectl(
    'label',
    'namespace',
    'psa-kubectl',
    'pod-security.kubernetes.io/enforce=baseline',
    '--overwrite',
  );
  t.is(labelled.code, 0, labelled.stderr);
  t.regex(
    labelled.stderr,
    /Warning: existing pods in namespace "psa-kubectl" violate the new PodSecurity enforce level "baseline:latest"/,
  );
  t.regex(labelled.stderr, /Warning: web-1 \(and 1 other pod\): host namespaces, hostPath volumes/);
  const refused = await kubectl(
    '-n',
    'psa-kubectl',
    'run',
    'debug',
    '--image=busybox',
    '--overrides={"spec":{"hostPID":true}}',
  );
  t.not(refused.code, 0);
  t.regex(
    refused.stderr,
    /pods "debug" is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostPID=true\)/,
  );
});

test('kubectl debug node/: its node-debugging pod is refused under baseline enforce, as upstream refuses it', async (t) => {
  t.is((await call(server, 'POST', '/api/v1/nodes', admin, { metadata: { name: 'psa-node' } })).status, 201);
  t.is((await namespace('psa-debug', { 'pod-security.kubernetes.io/enforce': 'baseline' })).status, 201);
  // kubectl 1.32 and later send the debugging pod as protobuf
  const debug = await kubectl('-n', 'psa-debug', 'debug', 'node/psa-node', '--image=busybox');
  t.not(debug.code, 0);
  t.regex(
    debug.stderr,
    /is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostIPC=true, hostNetwork=true, hostPID=true\), hostPath volumes \(volume "host-root"\)/,
  );
  const left = await call(server, 'GET', '/api/v1/namespaces/psa-debug/pods', admin);
  t.deepEqual(left.body.items, [], 'no debugging pod was stored');
});

test('kubectl debug node/: the pod kubectl 1.32 sends as protobuf is stored as the one kubectl 1.30 sends as JSON', async (t) => {
  t.is((await call(server, 'POST', '/api/v1/nodes', admin, { metadata: { name: 'pb-node' } })).status, 201);
  t.is((await namespace('psa-debug-privileged', { 'pod-security.kubernetes.io/enforce': 'privileged' })).status, 201);
  const viaProtobuf = await kubectl(
    '-n',
    'psa-debug-privileged',
    'debug',
    'node/pb-node',
    '--image=busybox',
    '--profile=sysadmin',
  );
  t.is(viaProtobuf.code, 0, viaProtobuf.stderr);
  const viaJson = await kubectlOf(
    '/usr/lib/google-cloud-sdk/bin/kubectl.1.30',
    '-n',
    'psa-debug-privileged',
    'debug',
    'node/pb-node',
    '--image=busybox',
    '--profile=sysadmin',
  );
  t.is(viaJson.code, 0, viaJson.stderr);
  const pods = (await call(server, 'GET', '/api/v1/namespaces/psa-debug-privileged/pods', admin)).body.items as Array<{
    spec: Record<string, unknown>;
    metadata: { labels?: unknown };
  }>;
  t.is(pods.length, 2);
  const [first, second] = pods.map((pod) => pod.spec);
  t.deepEqual(first, second, 'same spec from protobuf and JSON');
  t.like(first, {
    hostNetwork: true,
    hostPID: true,
    hostIPC: true,
    nodeName: 'pb-node',
    volumes: [{ name: 'host-root', hostPath: { path: '/' } }],
  });
  t.like((first!.containers as unknown[])[0], {
    securityContext: { privileged: true },
    volumeMounts: [{ name: 'host-root', mountPath: '/host' }],
  });
});
