/**
 * Jobs as upstream runs them, on a real sandbox node with real kubectl (the machine's and the
 * newest installed release): an Indexed Job of 5 completions whose pods each see their own
 * $JOB_COMPLETION_INDEX and the stable hostname `<job>-<index>` (a headless Service named by
 * `subdomain`, as upstream documents), and a Job whose podFailurePolicy ignores exit code 42: its
 * first pod exits 42, the replacement succeeds, and backoffLimit 0 still ends Complete.
 */
import test from 'ava';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxImages } from '../../sandbox/names.ts';
import { waitFor } from '../helpers/wait.ts';
import { installedKubectlReleases } from '../controlplane/kubectl-releases.ts';
import { kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/index.ts';

const newest = installedKubectlReleases().at(-1);
const clients = ['kubectl', ...(newest ? [newest.binary] : [])];

let sandbox: Sandbox | undefined;
let kubeconfig = '';

const kubectl = (binary: string, args: string[], input?: string) =>
  kubectlOk({ kubeconfig, binary, input, timeoutMs: 90_000 }, args);

interface JobView {
  status?: {
    succeeded?: number;
    failed?: number;
    completedIndexes?: string;
    conditions?: { type: string; status: string; reason?: string }[];
  };
}
interface PodView {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { hostname?: string };
  status?: { phase?: string; containerStatuses?: { state?: { terminated?: { exitCode: number } } }[] };
}

async function job(name: string): Promise<JobView> {
  return JSON.parse(await kubectl('kubectl', ['get', 'job', name, '-o', 'json'])) as JobView;
}

async function podsOf(name: string): Promise<PodView[]> {
  const list = JSON.parse(
    await kubectl('kubectl', ['get', 'pods', '-l', `batch.kubernetes.io/job-name=${name}`, '-o', 'json']),
  ) as { items: PodView[] };
  return list.items;
}

async function finished(name: string): Promise<JobView> {
  await waitFor(
    async () => {
      const conditions = (await job(name)).status?.conditions ?? [];
      return conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    },
    { what: `job ${name} to finish`, timeoutMs: 90_000, intervalMs: 500 },
  );
  return job(name);
}

const conditionsOf = (view: JobView) => (view.status?.conditions ?? []).map((c) => `${c.type}:${c.reason}`);

test.before(async () => {
  sandbox = await createTestSandbox('bjb', 1);
  kubeconfig = (await sandbox.startControlPlane()).kubeconfig;
  await sandbox.joinAgents();
  await waitFor(async () => / Ready /.test(await kubectl('kubectl', ['get', 'node', 'node-1', '--no-headers'])), {
    what: 'node-1 Ready',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
});

test.after.always(async () => {
  await sandbox?.destroy();
});

const indexedJob = (name: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  clusterIP: None
  selector: {batch.kubernetes.io/job-name: ${name}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: ${name}}
spec:
  completions: 5
  parallelism: 5
  completionMode: Indexed
  template:
    spec:
      subdomain: ${name}
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: ${sandboxImages.busybox}, command: [sh, -c, 'echo "index=$JOB_COMPLETION_INDEX host=$(hostname)"']}
`;

test.serial('an Indexed Job of 5 completions runs each index once with its hostname', async (t) => {
  for (const [n, client] of clients.entries()) {
    const name = `indexed-${n}`;
    await kubectl(client, ['apply', '-f', '-'], indexedJob(name));
    const done = await finished(name);
    t.deepEqual(conditionsOf(done), ['SuccessCriteriaMet:CompletionsReached', 'Complete:CompletionsReached'], client);
    t.like(done.status, { succeeded: 5, completedIndexes: '0-4' }, client);
    const seen: string[] = [];
    for (const pod of await podsOf(name)) {
      const index = pod.metadata.annotations?.['batch.kubernetes.io/job-completion-index'];
      t.regex(pod.metadata.name, new RegExp(`^${name}-${index}-[a-z0-9]{5}$`), client);
      const log = (await kubectl(client, ['logs', pod.metadata.name])).trim();
      t.is(log, `index=${index} host=${name}-${index}`, `${client}: pod ${pod.metadata.name}`);
      seen.push(index ?? '');
    }
    t.deepEqual(seen.sort(), ['0', '1', '2', '3', '4'], `${client}: each index ran once`);
  }
});

// Each pod sees how many of its index's failures the policy ignored: the first exits 42, the next succeeds.
const failOnceJob = (name: string) => `apiVersion: batch/v1
kind: Job
metadata: {name: ${name}}
spec:
  completions: 1
  completionMode: Indexed
  backoffLimit: 0
  backoffLimitPerIndex: 0
  podFailurePolicy:
    rules:
    - action: Ignore
      onExitCodes: {operator: In, values: [42]}
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ${sandboxImages.busybox}
        env:
        - name: IGNORED
          valueFrom: {fieldRef: {fieldPath: "metadata.annotations['batch.kubernetes.io/job-index-ignored-failure-count']"}}
        command: [sh, -c, 'if [ "\${IGNORED:-0}" = 0 ]; then exit 42; fi; echo "second try"']
`;

test.serial('a podFailurePolicy that ignores exit code 42 replaces the pod and the Job completes', async (t) => {
  for (const [n, client] of clients.entries()) {
    const name = `ignore-42-${n}`;
    await kubectl(client, ['apply', '-f', '-'], failOnceJob(name));
    const done = await finished(name);
    t.deepEqual(conditionsOf(done), ['SuccessCriteriaMet:CompletionsReached', 'Complete:CompletionsReached'], client);
    t.like(done.status, { succeeded: 1, failed: 0 }, `${client}: the ignored failure is not counted`);
    const pods = await podsOf(name);
    const exits = pods.map(
      (p) => `${p.status?.phase}:${p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode}`,
    );
    t.deepEqual(exits.sort(), ['Failed:42', 'Succeeded:0'], client);
  }
});
