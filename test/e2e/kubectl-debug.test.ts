/**
 * `kubectl debug` against a real node: real kubectl adds an ephemeral container through
 * pods/<name>/ephemeralcontainers, the node's agent starts it in the pod's sandbox (in the
 * target's process namespace with --target) and kubectl attaches to it through the ordinary attach
 * path, with its stdin fed by the test. One sandbox node with its own containerd, a real
 * `bosun server` and `bosun agent`.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../../kube/corev1.ts';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxImages } from '../../sandbox/names.ts';
import { waitFor } from '../helpers/wait.ts';
import { installedKubectlReleases } from '../controlplane/kubectl-releases.ts';
import { kubectl as runKubectl, kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/index.ts';

// the newest releases, from the npm registry, beside the oldest one on the machine
const otherReleases = installedKubectlReleases(['1.27', '1.34', '1.35']).map((r) => r.binary);

let sandbox: Sandbox | undefined;
let kubeconfig = '';

/**
 * `kubectl debug -i` as a person uses it: types `ps`, reads the answer (until `until` shows or the
 * shell has been quiet for a while), then types `exit`, which ends the session.
 */
async function debugSession(
  args: string[],
  until: RegExp,
  binary = 'kubectl',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(binary, ['--kubeconfig', kubeconfig, 'debug', '-i', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  try {
    await waitFor(() => /try pressing enter/.test(stderr) || child.exitCode !== null, {
      what: `kubectl debug to attach (${stderr})`,
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    child.stdin.write('ps\n');
    await waitFor(() => until.test(stdout) || /PID\s+USER/.test(stdout), {
      what: `ps output (${stdout})`,
      timeoutMs: 30_000,
      intervalMs: 100,
    }).catch(() => undefined);
    child.stdin.end('exit\n');
    return { code: await exited, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** kubectl with `input` on its stdin. */
function kubectlWithInput(input: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runKubectl({ kubeconfig, input, timeoutMs: 90_000 }, args);
}

function kubectl(...args: string[]): Promise<string> {
  return kubectlOk({ kubeconfig, timeoutMs: 90_000 }, args);
}

const getPod = async (name: string) => JSON.parse(await kubectl('get', 'pod', name, '-o', 'json')) as Pod;

// The node joins through `bosun join`, so its kubelet port has a serving certificate that the
// server trusts, and the server reaches it through the sandbox's CONNECT proxy as for exec/attach.
test.before(async () => {
  sandbox = await createTestSandbox('bdb', 1);
  kubeconfig = (await sandbox.startControlPlane()).kubeconfig;
  // the operator's explicit choice that lets node debugging pods mount the whole node
  await sandbox.joinAgents(['--allowed-host-paths', '/']);
  const manifest = join(sandbox.stateDir, 'target.yaml');
  writeFileSync(
    manifest,
    `apiVersion: v1
kind: Pod
metadata: {name: target, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${sandboxImages.busybox}
    command: [sleep, '3217']
`,
  );
  await waitFor(async () => (await kubectlWithInput('', 'apply', '-f', manifest)).code === 0, {
    what: 'the pod applied',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  await kubectl('wait', '--for=condition=Ready', 'pod/target', '--timeout=90s');
  // the serving certificate comes through a CSR in the background: wait until the kubelet port answers
  await waitFor(async () => (await kubectlWithInput('', 'logs', 'target')).code === 0, {
    what: 'the kubelet port up with an issued certificate',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
});

test.after.always(async () => {
  await sandbox?.destroy();
});

test.serial(
  "kubectl debug -i pod/x --target=c runs a shell that sees the target's processes; it stays Terminated after it exits",
  async (t) => {
    const debug = await debugSession(
      ['pod/target', `--image=${sandboxImages.busybox}`, '--target=c', '--container=debugger', '--', 'sh'],
      /sleep 3217/,
    );
    t.is(debug.code, 0, debug.stderr);
    t.regex(debug.stdout, /sleep 3217/, `the target's process shows in ps:\n${debug.stdout}`);

    const ephemeral = (await getPod('target')).spec.ephemeralContainers ?? [];
    t.deepEqual(
      ephemeral.map((c) => [c.name, c.targetContainerName, c.stdin]),
      [['debugger', 'c', true]],
    );
    await waitFor(
      async () => (await getPod('target')).status?.ephemeralContainerStatuses?.[0]?.state?.terminated !== undefined,
      { what: 'the debugger Terminated', timeoutMs: 30_000, intervalMs: 300 },
    );
    const status = (await getPod('target')).status!;
    const shown = status.ephemeralContainerStatuses![0]!;
    t.is(shown.state!.terminated!.exitCode, 0);
    t.regex(shown.containerID ?? '', /^containerd:\/\//);
    t.is(shown.image, sandboxImages.busybox);
    t.is(status.containerStatuses![0]!.restartCount, 0, 'the target was not touched');
    t.regex(
      await kubectl('logs', 'target', '-c', 'debugger'),
      /sleep 3217/,
      'its output is in its log, as for any container',
    );
    // a finished ephemeral container is never started again
    await new Promise((r) => setTimeout(r, 3_000));
    const later = (await getPod('target')).status!.ephemeralContainerStatuses![0]!;
    t.is(later.containerID, shown.containerID);
    t.truthy(later.state?.terminated);
  },
);

test.serial('kubectl debug -i pod/x without --target runs in its own process namespace', async (t) => {
  const debug = await debugSession(
    ['pod/target', `--image=${sandboxImages.busybox}`, '--container=alone', '--', 'sh'],
    /sleep 3217/,
  );
  t.is(debug.code, 0, debug.stderr);
  t.regex(debug.stdout, /PID\s+USER/, 'ps answered');
  t.notRegex(debug.stdout, /sleep 3217/, `the other containers' processes do not show:\n${debug.stdout}`);
  t.deepEqual(
    (await getPod('target')).spec.ephemeralContainers?.map((c) => c.name),
    ['debugger', 'alone'],
  );
});

test.serial('kubectl debug --target works the same with kubectl 1.27, 1.34 and 1.35', async (t) => {
  for (const [i, binary] of otherReleases.entries()) {
    const debug = await debugSession(
      ['pod/target', `--image=${sandboxImages.busybox}`, '--target=c', `--container=debugger-${i}`, '--', 'sh'],
      /sleep 3217/,
      binary,
    );
    t.is(debug.code, 0, `${binary}: ${debug.stderr}`);
    t.regex(debug.stdout, /sleep 3217/, `${binary}: the target's process shows in ps:\n${debug.stdout}`);
  }
  const names = (await getPod('target')).spec.ephemeralContainers?.map((c) => c.name) ?? [];
  t.deepEqual(
    names.slice(-otherReleases.length),
    otherReleases.map((_, i) => `debugger-${i}`),
  );
});

test.serial(
  "kubectl debug node/<n> runs a pod on that node with the node's root at /host, in its network",
  async (t) => {
    const node = sandbox!.nodes[0]!.name;
    const created = await kubectlWithInput(
      '',
      'debug',
      `node/${node}`,
      `--image=${sandboxImages.busybox}`,
      '--',
      'sh',
      '-c',
      'test -d /host/proc && test -d /host/etc && echo host-root-seen; ip -o link | grep -c . ',
    );
    t.is(created.code, 0, created.stderr);
    const name = /debugging pod (node-debugger-\S+) with/.exec(`${created.stdout}${created.stderr}`)?.[1];
    t.truthy(name, `kubectl named its pod: ${created.stdout}${created.stderr}`);
    await waitFor(async () => (await getPod(name!)).status?.phase === 'Succeeded', {
      what: `${name} Succeeded`,
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    const pod = await getPod(name!);
    t.is(pod.spec.nodeName, node);
    t.true(pod.spec.hostNetwork === true && pod.spec.hostPID === true, "kubectl asked for the node's namespaces");
    t.deepEqual(
      pod.spec.volumes?.flatMap((v) => (v.hostPath ? [v.hostPath.path] : [])),
      ['/'],
      "the node's root is its one hostPath volume",
    );
    t.regex(await kubectl('logs', name!), /host-root-seen/);
    await kubectl('delete', 'pod', name!, '--wait=false');
  },
);
