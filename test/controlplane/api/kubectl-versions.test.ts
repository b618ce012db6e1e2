/**
 * Older and newer kubectl releases (1.27 ... 1.33 from the google-cloud-sdk folder, 1.34 and 1.35
 * from the npm registry) against bosun
 * server: discovery (legacy and aggregated), a generator create, table columns, can-i, delete; and
 * the commands that watch (rollout status, wait, get --watch: client-go ≥ 1.35 lists through a
 * streaming watch), events, auth whoami and auth can-i --list.
 * A release that is not installed is reported as a visible skip line.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { kubectl } from '../kubectl-scenario.ts';
import { kubectlReleaseBinaries } from '../kubectl-releases.ts';
import { startServerProcess, type ServerProcess } from '../server-process.ts';
import { apiTime } from '../../../kube/api-time.ts';

let server: ServerProcess | undefined;
test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
});
test.after.always(async () => {
  await server?.destroy();
});

for (const { release, binary, installed, missing } of kubectlReleaseBinaries()) {
  if (!installed) {
    test.skip(`kubectl ${release}: ${missing}`, () => undefined);
    continue;
  }
  test(`kubectl ${release}`, async (t) => {
    const run = async (args: string[]) => {
      const r = await kubectl(server!, args, undefined, {}, binary);
      t.is(r.code, 0, `kubectl.${release} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const ns = `v${release.replace('.', '-')}`;
    // 1.27 prints version.Info{...}, later releases a plain version.
    t.regex(await run(['version']), /Server Version: (v1\.32\.0-bosun|version\.Info\{Major:"1", Minor:"32")/);
    t.regex(await run(['api-resources']), /deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    await run(['create', 'namespace', ns]);
    await run(['create', 'deployment', 'web', '-n', ns, '--image=registry.local/web:1', '--replicas=2']);
    const table = await run(['get', 'deploy', '-n', ns]);
    t.regex(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n^web\s+0\/2\s+0\s+0\s+\d+s$/m);
    t.is((await run(['auth', 'can-i', 'delete', 'deployments', '-n', ns])).trim(), 'yes');
    // No controllers run here: the namespace stays Terminating, so do not wait for it to go.
    t.regex(await run(['delete', 'namespace', ns, '--wait=false']), /deleted/);
  });
}

/** `kubectl get --watch` running until its output matches `until` (then stopped by its PID), or 20 s. */
function watchOutput(
  binary: string,
  args: readonly string[],
  until: RegExp,
  onStarted: () => Promise<unknown>,
): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(binary, [...args], {
      env: { ...process.env, KUBECONFIG: server!.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let started = false;
    const stop = () => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      resolve(output);
    };
    const timer = setTimeout(stop, 20_000);
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      if (!started && output.includes('\n')) {
        started = true;
        void onStarted();
      }
      if (until.test(output)) stop();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('exit', stop);
  });
}

for (const { release, binary, installed, missing } of kubectlReleaseBinaries()) {
  if (!installed) {
    test.skip(`kubectl ${release}: watching commands: ${missing}`, () => undefined);
    continue;
  }
  test(`kubectl ${release}: rollout status, wait, get --watch, events, auth whoami, auth can-i --list`, async (t) => {
    const run = (args: string[]) => kubectl(server!, args, undefined, {}, binary);
    const mustRun = async (args: string[]) => {
      const r = await run(args);
      t.is(r.code, 0, `kubectl.${release} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const ns = `w${release.replace('.', '-')}`;
    await mustRun(['create', 'namespace', ns]);
    await mustRun(['create', 'deployment', 'web', '-n', ns, '--image=registry.local/web:1']);
    // no controllers run here: the status a deployment controller would write, written later
    const done = JSON.stringify({
      status: {
        observedGeneration: 1,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok' }],
      },
    });
    const rollout = run(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=20s']);
    const wait = run(['wait', '--for=condition=Available', 'deployment/web', '-n', ns, '--timeout=20s']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await mustRun(['patch', 'deployment', 'web', '-n', ns, '--subresource=status', '--type=merge', '-p', done]);
    const rolled = await rollout;
    t.is(rolled.code, 0, `rollout status: ${rolled.stderr}`);
    t.regex(rolled.stdout, /deployment "web" successfully rolled out/);
    const waited = await wait;
    t.is(waited.code, 0, `wait: ${waited.stderr}`);
    t.regex(waited.stdout, /deployment.apps\/web condition met/);

    await mustRun(['create', 'configmap', 'early', '-n', ns]);
    const watched = await watchOutput(binary, ['get', 'configmaps', '--watch', '-n', ns], /^late\s+0\s/m, () =>
      mustRun(['create', 'configmap', 'late', '-n', ns]),
    );
    t.regex(watched, /^kube-root-ca\.crt\s|^NAME\s/m, 'the current state first');
    t.regex(watched, /^late\s+0\s/m, `the change after it: ${watched}`);

    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.1' },
      involvedObject: { kind: 'Deployment', name: 'web', namespace: ns, apiVersion: 'apps/v1' },
      reason: 'ScalingReplicaSet',
      message: 'Scaled up',
      type: 'Normal',
      count: 1,
      firstTimestamp: apiTime(Date.now()),
      lastTimestamp: apiTime(Date.now()),
    };
    const created = await kubectl(server!, ['create', '-n', ns, '-f', '-'], JSON.stringify(event), {}, binary);
    t.is(created.code, 0, created.stderr);
    t.regex(
      await mustRun(['events', '-n', ns]),
      /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n.*Normal\s+ScalingReplicaSet\s+Deployment\/web\s+Scaled up$/m,
    );
    // kubectl 1.27 asks authentication.k8s.io/v1beta1 only, a version not served here (v1 is, since 1.28)
    if (release !== '1.27') t.regex(await mustRun(['auth', 'whoami']), /^Username\s+kubernetes-admin$/m);
    const rules = await mustRun(['auth', 'can-i', '--list', '-n', ns]);
    t.regex(rules, /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs/m);
    t.regex(rules, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/m, 'system:masters may do everything');
    await mustRun(['delete', 'namespace', ns, '--wait=false']);
  });
}
