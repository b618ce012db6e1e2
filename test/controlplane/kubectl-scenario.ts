/**
 * The kubectl scenario, run against a live `bosun server` by each datastore's test file: real
 * kubectl commands, checked on their exact output columns, on 409 for stale writes and on concurrent
 * updates that must all land.
 */
import type { ExecutionContext } from 'ava';
import forge from 'node-forge';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../host/process/run.ts';
import { kubectl as runKubectl } from '../bed/kubectl.ts';
import type { ServerProcess } from './server-process.ts';

/** kubectl against a server process, as its admin (the server's kubeconfig); never throws on the exit code. */
export function kubectl(
  server: ServerProcess,
  args: readonly string[],
  input?: string,
  env: Record<string, string> = {},
  binary = 'kubectl',
): Promise<RunResult> {
  return runKubectl({ kubeconfig: server.kubeconfig, binary, input, env, timeoutMs: 30_000 }, args);
}

/** A long-running kubectl whose output is read while it runs (get -w); stop() ends it. */
function watchKubectl(server: ServerProcess, args: readonly string[]) {
  const child = spawn('kubectl', [...args], {
    env: { ...process.env, KUBECONFIG: server.kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const take = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return {
    output: () => output,
    /** Resolves once the output matches; rejects when kubectl exits first or the deadline passes. */
    async until(pattern: RegExp, timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (child.exitCode !== null) throw new Error(`kubectl ${args.join(' ')} exited: ${output}`);
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms in: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: () => child.kill('SIGTERM'),
  };
}

const headerOf = (text: string) => (text.split('\n')[0] ?? '').trim().split(/\s{2,}/);

export async function kubectlScenario(t: ExecutionContext, server: ServerProcess): Promise<void> {
  const k = async (args: string[], input?: string, env?: Record<string, string>) => {
    const r = await kubectl(server, args, input, env);
    t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const dir = mkdtempSync(join(tmpdir(), `bosun-kubectl-${process.pid}-`));
  try {
    t.regex(await k(['version']), /Server Version: v1\.32\.0/);
    t.regex(await k(['cluster-info']), /control plane is running at https:\/\/127\.0\.0\.1:\d+/);
    const resources = await k(['api-resources']);
    for (const line of [
      'pods  +po +v1 +true +Pod',
      'deployments +deploy +apps/v1 +true +Deployment',
      'leases +coordination.k8s.io/v1 +true +Lease',
    ]) {
      t.regex(resources, new RegExp(line), `api-resources lacks ${line}`);
    }
    t.regex(await k(['api-versions']), /^apps\/v1$/m);

    // kubectl 1.32+ sends the objects of its generator commands as protobuf.
    await k(['create', 'namespace', 'scenario']);
    const manifest = join(dir, 'app.yaml');
    const write = (text: string) => writeFileSync(manifest, text);
    write(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: scenario
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.local/web:1.0
        ports: [{containerPort: 8080}]
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: scenario}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: scenario, labels: {app: solo}}
spec:
  containers: [{name: main, image: registry.local/solo}]
`);
    t.regex(await k(['apply', '-f', manifest]), /deployment.apps\/web created/);

    // Table columns, as kubectl prints them.
    const deploy = await k(['get', 'deploy', '-n', 'scenario']);
    t.deepEqual(headerOf(deploy), ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    t.regex(deploy, /^web\s+0\/2\s+0\s+0\s+\d+s$/m);
    t.deepEqual(headerOf(await k(['get', 'deploy', '-n', 'scenario', '-o', 'wide'])), [
      'NAME',
      'READY',
      'UP-TO-DATE',
      'AVAILABLE',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    const svc = await k(['get', 'svc', '-n', 'scenario', '-o', 'wide']);
    t.deepEqual(headerOf(svc), ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR']);
    t.regex(
      svc,
      /^web\s+NodePort\s+10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+\s+<none>\s+80:3\d{4}\/TCP\s+\d+s\s+app=web$/m,
    );
    const pods = await k(['get', 'pods', '-A', '-o', 'wide']);
    t.deepEqual(headerOf(pods), [
      'NAMESPACE',
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'IP',
      'NODE',
      'NOMINATED NODE',
      'READINESS GATES',
    ]);
    t.regex(pods, /^scenario\s+solo\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>\s+<none>\s+<none>$/m);
    t.deepEqual(headerOf(await k(['get', 'clusterroles'])), ['NAME', 'CREATED AT']);

    // Output formats and selectors.
    const json = JSON.parse(await k(['get', 'pod', 'solo', '-n', 'scenario', '-o', 'json']));
    t.is(json.spec.restartPolicy, 'Always');
    t.is(json.spec.containers[0].imagePullPolicy, 'Always', 'untagged image defaults to Always');
    t.regex(await k(['get', 'pod', 'solo', '-n', 'scenario', '-o', 'yaml']), /terminationGracePeriodSeconds: 30/);
    t.is(
      await k([
        'get',
        'deploy',
        'web',
        '-n',
        'scenario',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].env[1].value}',
      ]),
      '2',
    );
    t.regex(
      await k(['get', 'deploy', '-n', 'scenario', '-o', 'custom-columns=N:.metadata.name,R:.spec.replicas']),
      /^web\s+2$/m,
    );
    t.regex(await k(['get', 'pods', '-A', '-l', 'app in (solo,other),!missing']), /solo/);
    t.notRegex(await k(['get', 'pods', '-A', '-l', 'app=web']), /solo/);
    t.regex(
      await k(['get', 'pods', '-A', '--field-selector', 'status.phase=Pending,metadata.namespace=scenario']),
      /solo/,
    );
    const badField = await kubectl(server, ['get', 'pods', '--field-selector', 'spec.bogus=1']);
    t.not(badField.code, 0);
    t.regex(badField.stderr, /not a known field selector/);

    // label, annotate, patch (strategic keeps the other env entry), scale.
    await k(['label', 'pod', 'solo', '-n', 'scenario', 'stage=test']);
    await k(['annotate', 'pod', 'solo', '-n', 'scenario', 'note=hello']);
    t.is(
      await k([
        'get',
        'pod',
        'solo',
        '-n',
        'scenario',
        '-o',
        'jsonpath={.metadata.labels.stage}/{.metadata.annotations.note}',
      ]),
      'test/hello',
    );
    await k([
      'patch',
      'deploy',
      'web',
      '-n',
      'scenario',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"A","value":"10"}]}]}}}}',
    ]);
    t.is(
      await k([
        'get',
        'deploy',
        'web',
        '-n',
        'scenario',
        '-o',
        'jsonpath={range .spec.template.spec.containers[0].env[*]}{.name}={.value};{end}',
      ]),
      'A=10;B=2;',
    );
    await k([
      'patch',
      'deploy',
      'web',
      '-n',
      'scenario',
      '--type=merge',
      '-p',
      '{"metadata":{"labels":{"tier":null}}}',
    ]);
    await k([
      'patch',
      'deploy',
      'web',
      '-n',
      'scenario',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/replicas","value":3}]',
    ]);
    await k(['scale', 'deploy', 'web', '-n', 'scenario', '--replicas=4']);
    t.is(
      await k([
        'get',
        'deploy',
        'web',
        '-n',
        'scenario',
        '-o',
        'jsonpath={.spec.replicas} {.metadata.labels.tier} {.metadata.generation}',
      ]),
      '4  4',
    );

    // apply three-way merge: a key removed from the file goes, one added by someone else stays.
    await k(['label', 'deploy', 'web', '-n', 'scenario', 'owner=ops']);
    write(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: scenario
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.local/web:2.0
        ports: [{containerPort: 8080}]
        env: [{name: B, value: "2"}]
`);
    t.regex(await k(['apply', '-f', manifest]), /configured/);
    t.is(
      await k([
        'get',
        'deploy',
        'web',
        '-n',
        'scenario',
        '-o',
        'jsonpath={.metadata.labels} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[*].name}',
      ]),
      '{"app":"web","owner":"ops"} registry.local/web:2.0 B',
    );

    // Server-side apply: creates, drops what the configuration no longer sets, reports conflicts
    // with another field manager and lets --force-conflicts take the field over.
    const ssa = join(dir, 'ssa.json');
    const cmConfig = (data: Record<string, string>) =>
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa', namespace: 'scenario' }, data });
    writeFileSync(ssa, cmConfig({ a: '1', b: '2' }));
    t.regex(await k(['apply', '--server-side', '-f', ssa]), /configmap\/ssa serverside-applied/);
    writeFileSync(ssa, cmConfig({ a: '1' }));
    await k(['apply', '--server-side', '-f', ssa]);
    t.is(await k(['get', 'cm', 'ssa', '-n', 'scenario', '-o', 'jsonpath={.data}']), '{"a":"1"}');
    writeFileSync(ssa, cmConfig({ a: 'mine' }));
    const clash = await kubectl(server, ['apply', '--server-side', '--field-manager=other', '-f', ssa]);
    t.not(clash.code, 0);
    t.regex(clash.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.data\.a/);
    await k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', ssa]);
    t.is(await k(['get', 'cm', 'ssa', '-n', 'scenario', '-o', 'jsonpath={.data.a}']), 'mine');

    // Server-side dry runs and diff: everything is checked, nothing is written.
    t.regex(
      await k(['create', 'configmap', 'dry', '-n', 'scenario', '--dry-run=server']),
      /configmap\/dry created \(server dry run\)/,
    );
    t.regex((await kubectl(server, ['get', 'configmap', 'dry', '-n', 'scenario'])).stderr, /NotFound/);
    t.regex(await k(['delete', 'deploy', 'web', '-n', 'scenario', '--dry-run=server']), /deleted \(server dry run\)/);
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('registry.local/web:2.0', 'registry.local/web:3.0'));
    const diff = await kubectl(server, ['diff', '-f', manifest]);
    t.is(diff.code, 1, `kubectl diff exits 1 when there is a difference: ${diff.stderr}`);
    t.regex(diff.stdout, /-\s+image: registry\.local\/web:2\.0\n\+\s+image: registry\.local\/web:3\.0/);
    t.is(
      await k(['get', 'deploy', 'web', '-n', 'scenario', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']),
      'registry.local/web:2.0',
      'diff changed nothing',
    );
    const dryInvalid = await kubectl(server, ['run', 'bad', '-n', 'scenario', '--image=', '--dry-run=server']);
    t.not(dryInvalid.code, 0, 'a dry run still validates');

    // replace with a stale resourceVersion: 409, and nothing changes.
    await k(['create', 'configmap', 'cfg', '-n', 'scenario', '--from-literal=k=v1']);
    const cm = JSON.parse(await k(['get', 'cm', 'cfg', '-n', 'scenario', '-o', 'json']));
    await k(['patch', 'cm', 'cfg', '-n', 'scenario', '-p', '{"data":{"k":"v2"}}']);
    cm.data.k = 'stale';
    const stale = await kubectl(server, ['replace', '-f', '-'], JSON.stringify(cm));
    t.not(stale.code, 0, 'a replace with a stale resourceVersion must fail');
    t.regex(stale.stderr, /Conflict.*the object has been modified/);
    t.is(await k(['get', 'cm', 'cfg', '-n', 'scenario', '-o', 'jsonpath={.data.k}']), 'v2');
    const fresh = JSON.parse(await k(['get', 'cm', 'cfg', '-n', 'scenario', '-o', 'json']));
    fresh.data.k = 'v3';
    t.regex(await k(['replace', '-f', '-'], JSON.stringify(fresh)), /replaced/);

    // Concurrent writers: every label must land (no lost update).
    const writers = Array.from({ length: 8 }, (_, i) =>
      kubectl(server, ['label', 'cm', 'cfg', '-n', 'scenario', `w${i}=yes`]),
    );
    for (const r of await Promise.all(writers)) t.is(r.code, 0, r.stderr);
    const labels = JSON.parse(await k(['get', 'cm', 'cfg', '-n', 'scenario', '-o', 'jsonpath={.metadata.labels}']));
    t.deepEqual(Object.keys(labels).sort(), ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7']);

    // edit through $EDITOR.
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\nsed -i 's/^  k: v3$/  k: edited/' "$1"\n`, { mode: 0o755 });
    await k(['edit', 'cm', 'cfg', '-n', 'scenario'], undefined, { EDITOR: editor, KUBE_EDITOR: editor });
    t.is(await k(['get', 'cm', 'cfg', '-n', 'scenario', '-o', 'jsonpath={.data.k}']), 'edited');

    // More generators (protobuf bodies): every field they set must arrive intact.
    await k(['create', 'secret', 'generic', 'sec', '-n', 'scenario', '--from-literal=password=s3cret']);
    t.is(
      Buffer.from(
        await k(['get', 'secret', 'sec', '-n', 'scenario', '-o', 'jsonpath={.data.password}']),
        'base64',
      ).toString(),
      's3cret',
    );
    await k([
      'create',
      'deployment',
      'gen',
      '-n',
      'scenario',
      '--image=registry.local/gen:3',
      '--replicas=0',
      '--port=9090',
    ]);
    t.is(
      await k([
        'get',
        'deploy',
        'gen',
        '-n',
        'scenario',
        '-o',
        'jsonpath={.spec.replicas}|{.spec.selector.matchLabels.app}|{.spec.template.spec.containers[0].image}|{.spec.template.spec.containers[0].ports[0].containerPort}|{.spec.strategy.type}',
      ]),
      '0|gen|registry.local/gen:3|9090|RollingUpdate',
    );
    await k(['create', 'service', 'clusterip', 'gen', '-n', 'scenario', '--tcp=80:9090']);
    t.is(
      await k([
        'get',
        'svc',
        'gen',
        '-n',
        'scenario',
        '-o',
        'jsonpath={.spec.ports[0].port}:{.spec.ports[0].targetPort}/{.spec.selector.app}',
      ]),
      '80:9090/gen',
    );
    await k([
      'create',
      'cronjob',
      'tick',
      '-n',
      'scenario',
      '--image=busybox:1',
      '--schedule=*/5 * * * *',
      '--',
      'date',
    ]);
    t.is(
      await k([
        'get',
        'cronjob',
        'tick',
        '-n',
        'scenario',
        '-o',
        'jsonpath={.spec.schedule}|{.spec.jobTemplate.spec.template.spec.containers[0].command[0]}',
      ]),
      '*/5 * * * *|date',
    );
    await k(['create', 'role', 'reader', '-n', 'scenario', '--verb=get,list', '--resource=pods']);
    await k(['create', 'rolebinding', 'reader', '-n', 'scenario', '--role=reader', '--user=alice']);

    // auth can-i, with impersonation through the role just created.
    t.is((await k(['auth', 'can-i', 'create', 'pods'])).trim(), 'yes');
    t.is((await k(['auth', 'can-i', 'list', 'pods', '-n', 'scenario', '--as=alice'])).trim(), 'yes');
    const denied = await kubectl(server, ['auth', 'can-i', 'delete', 'pods', '-n', 'scenario', '--as=alice']);
    t.is(denied.stdout.trim(), 'no');
    const forbidden = await kubectl(server, ['get', 'secrets', '-n', 'scenario', '--as=alice']);
    t.regex(forbidden.stderr, /Forbidden.*User "alice" cannot list resource "secrets"/);

    // A service account and a token for it (TokenRequest, protobuf from 1.32 on).
    await k(['create', 'serviceaccount', 'robot', '-n', 'scenario']);
    const token = (await k(['create', 'token', 'robot', '-n', 'scenario', '--duration=15m'])).trim();
    t.regex(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    // Without the admin kubeconfig: its client certificate would authenticate first.
    const whoami = await kubectl(server, [
      'auth',
      'whoami',
      '--kubeconfig=/dev/null',
      `--server=${server.url}`,
      `--certificate-authority=${server.dataDir}/pki/ca.crt`,
      `--token=${token}`,
    ]);
    t.regex(whoami.stdout, /system:serviceaccount:scenario:robot/, whoami.stderr);

    // explain lists fields and their types from the served OpenAPI v3 schemas.
    t.regex(await k(['explain', 'deployment.spec.replicas']), /FIELD:\s+replicas <integer>/);
    t.regex(await k(['explain', 'pods.spec.containers']), /image\s+<string>/);

    // A CSR: requestor set by the server, kubectl's columns, approval (protobuf PUT from 1.32 on).
    const keys = forge.pki.rsa.generateKeyPair(1024);
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = keys.publicKey;
    csr.setSubject([
      { name: 'commonName', value: 'system:node:n9' },
      { name: 'organizationName', value: 'system:nodes' },
    ]);
    csr.sign(keys.privateKey);
    const requestPem = forge.pki.certificationRequestToPem(csr);
    await k(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { name: 'node-n9' },
        spec: {
          request: Buffer.from(requestPem).toString('base64'),
          signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
          usages: ['digital signature', 'key encipherment', 'client auth'],
          username: 'someone-else',
        },
      }),
    );
    const csrs = await k(['get', 'csr']);
    t.deepEqual(headerOf(csrs), ['NAME', 'AGE', 'SIGNERNAME', 'REQUESTOR', 'REQUESTEDDURATION', 'CONDITION']);
    t.regex(
      csrs,
      /^node-n9\s+\d+s\s+kubernetes\.io\/kube-apiserver-client-kubelet\s+kubernetes-admin\s+<none>\s+Pending$/m,
    );
    await k(['certificate', 'approve', 'node-n9']);
    // the server issues certificates for approved kubelet-client requests, as upstream's signer does
    t.regex(await k(['get', 'csr', 'node-n9']), /Approved(,Issued)?$/m);
    t.is(
      Buffer.from(await k(['get', 'csr', 'node-n9', '-o', 'jsonpath={.spec.request}']), 'base64').toString(),
      requestPem,
    );

    // describe, config.
    t.regex(await k(['describe', 'pod', 'solo', '-n', 'scenario']), /Labels:\s+app=solo/);
    t.regex(await k(['describe', 'svc', 'web', '-n', 'scenario']), /NodePort:\s+<unset>\s+3\d{4}\/TCP/);
    t.is((await k(['config', 'current-context'])).trim(), 'kubernetes-admin@bosun');
    t.regex(await k(['config', 'get-contexts']), /\*\s+kubernetes-admin@bosun\s+bosun\s+kubernetes-admin/);

    // get -w sees a creation and a deletion. kubectl prints the listed objects before it opens the
    // watch from the list's resourceVersion, so once an object known to exist is printed, every
    // later change reaches this watch: no sleep, no race.
    await k(['create', 'configmap', 'watch-anchor', '-n', 'scenario']);
    const watcher = watchKubectl(server, ['get', 'cm', '-n', 'scenario', '-w', '--output-watch-events']);
    try {
      await watcher.until(/^ADDED\s+watch-anchor\s/m, 20_000);
      await k(['create', 'configmap', 'watched', '-n', 'scenario']);
      await k(['delete', 'configmap', 'watched', '-n', 'scenario']);
      await watcher.until(/^DELETED\s+watched\s/m, 20_000);
    } finally {
      watcher.stop();
    }
    const events = watcher
      .output()
      .split('\n')
      .filter((line) => /^\w+\s+watched\s/.test(line))
      .map((line) => line.trim().split(/\s+/)[0]);
    t.deepEqual(events, ['ADDED', 'DELETED'], `watch output: ${watcher.output()}`);

    // delete: graceful for an unscheduled pod is immediate; --cascade accepted; then the namespace.
    t.regex(await k(['delete', 'pod', 'solo', '-n', 'scenario', '--grace-period=5']), /deleted/);
    t.regex(await k(['delete', 'deploy', 'web', '-n', 'scenario', '--cascade=background']), /deleted/);
    const gone = await kubectl(server, ['get', 'deploy', 'web', '-n', 'scenario']);
    t.regex(gone.stderr, /NotFound/);
    // The namespace controller empties a deleted namespace; without controllers it stays Terminating.
    await k(['delete', 'namespace', 'scenario', '--wait=false']);
    t.regex(await k(['get', 'ns', 'scenario']), /scenario\s+Terminating/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
