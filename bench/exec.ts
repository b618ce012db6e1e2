/**
 * `npm run bench -- exec [--quick]`: what the kubelet port costs on top of the runtime.
 *
 *  - exec round trip, interleaved round by round, p50 of N each:
 *      raw        CRI ExecSync straight to the node's containerd (the baseline);
 *      runtime    CRI Exec and a websocket straight to containerd's streaming server, from inside
 *                 the node (exec/runtime-stream.ts): what the runtime's streaming costs without bosun;
 *      websocket  one v5.channel.k8s.io websocket through the API server and the kubelet port, as
 *                 kubectl 1.30+ opens it, without kubectl (admin certificate), timed as upgrade
 *                 (to the 101) and stream (to the close);
 *      kubectl    `kubectl exec <pod> -- true`, its process start included, beside `kubectl version
 *                 --client` (its start alone) and `kubectl get pod` (start, handshake and one GET);
 *    then `kubectl exec` of every release from 1.30 on that the machine has.
 *    bosun_added_p50_ms is websocket minus runtime: what the API server, the kubelet port and their
 *    connections add. The rest of kubectl's time is kubectl's own start and its pod GET.
 *  - log streaming: `kubectl logs` of a pod that wrote M MB (through API server, egress proxy and
 *    kubelet port), against reading and parsing the same CRI log file directly on the node.
 *
 * One sandbox node joined with `bosun join`, `bosun server` on loopback. Prints one JSON object as
 * its last line and writes bench/results/exec(-quick).json.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Sandbox } from '../sandbox/sandbox.ts';
import { run } from '../host/process/run.ts';
import { sandboxImages, sandboxRoots } from '../sandbox/names.ts';
import { CriClient } from '../cri/client.ts';
import { readLog } from '../cri/logfile.ts';
import { loadKubeconfig } from '../kube/kubeconfig.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { writeResult } from './report/write-result.ts';
import { runtimeStreamer, type RuntimeRound } from './exec/runtime-streamer.ts';
import { timeWebsocketExec, type ExecPhases } from './exec/websocket-exec.ts';
import { websocketKubectls } from './exec/kubectl-releases.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const rounds = values.quick ? 10 : 20;
const logMegabytes = values.quick ? 20 : 80;
const imageCacheDir = join(import.meta.dirname, '..', '.cache', 'images');

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const id = `bex${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
const sandbox = await Sandbox.create(
  {
    name: id,
    id,
    stateDir: join(sandboxRoots.tests, id),
    ownerPid: process.pid,
    images: ['pause', 'busybox'],
    imageCacheDir,
  },
  1,
);
const stop = () => void sandbox.destroy().finally(() => process.exit(1));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
try {
  const plane = await sandbox.startControlPlane();
  const kubeconfig = plane.kubeconfig;
  const kubectl = (...args: string[]) => run(['kubectl', '--kubeconfig', kubeconfig, ...args], { timeoutMs: 120_000 });
  // a log larger than the agent's rotation size (10Mi by default, as upstream) would be rotated
  // away under the reader: give the writer room when this agent rotates logs
  const help = await run([join(import.meta.dirname, '..', 'bin', 'bosun'), 'agent', '--help']);
  await sandbox.joinAgents(help.stdout.includes('--container-log-max-size') ? ['--container-log-max-size=1Gi'] : []);
  const node = sandbox.node('node-1');
  await waitFor(async () => / Ready /.test((await kubectl('get', 'node', 'node-1', '--no-headers')).stdout), {
    what: 'node-1 Ready',
    timeoutMs: 120_000,
    intervalMs: 500,
  });

  const line = 'x'.repeat(99); // 100 bytes with the newline
  const bytes = logMegabytes * 1_000_000;
  const manifest = `apiVersion: v1
kind: Pod
metadata: {name: target, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: ${sandboxImages.busybox}, command: ["sh", "-c", "exec sleep 3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: writer, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: ${sandboxImages.busybox}, command: ["sh", "-c", "yes ${line} | head -c ${bytes}; echo DONE; exec sleep 3600"]}
`;
  writeFileSync(join(sandbox.stateDir, 'pods.yaml'), manifest);
  const applied = await kubectl('apply', '-f', join(sandbox.stateDir, 'pods.yaml'));
  if (applied.code !== 0) throw new Error(applied.stderr);
  await waitFor(async () => (await kubectl('exec', 'target', '--', 'true')).code === 0, {
    what: 'kubectl exec into pod target to work',
    timeoutMs: 120_000,
    intervalMs: 500,
  });

  // -- exec: the same `true` five ways, interleaved round by round so that a change of load on this
  // shared machine hits them alike
  const runtime = new CriClient(node.criEndpoint);
  const [container] = await runtime.listContainers({
    state: { state: 'CONTAINER_RUNNING' },
    labelSelector: { 'io.kubernetes.pod.name': 'target' },
  });
  if (!container) throw new Error('no running container for pod target');
  const streamer = runtimeStreamer(node.netns, node.criEndpoint, container.id);
  const admin = loadKubeconfig(kubeconfig).client;
  const apiUrl = `wss://127.0.0.1:${plane.port}/api/v1/namespaces/default/pods/target/exec?command=true&stdout=true&stderr=true`;
  const kubectlOk = async (binary: string, ...args: string[]) => {
    const r = await run([binary, '--kubeconfig', kubeconfig, ...args], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`${binary} ${args.join(' ')}: ${r.stderr}`);
  };
  const raw: number[] = [];
  const direct: RuntimeRound[] = [];
  const viaApi: ExecPhases[] = [];
  const viaKubectl: number[] = [];
  const kubectlStart: number[] = [];
  const kubectlGet: number[] = [];
  for (let i = 0; i < rounds; i++) {
    raw.push(await timed(() => runtime.execSync(container.id, ['true'], 10)));
    direct.push(await streamer.next());
    // v5 is what kubectl 1.30 and later ask for first; the kubelet port translates it for the runtime
    viaApi.push(
      await timeWebsocketExec(apiUrl, 'v5.channel.k8s.io', { ca: admin.ca, cert: admin.cert!, key: admin.key! }),
    );
    viaKubectl.push(await timed(() => kubectlOk('kubectl', 'exec', 'target', '--', 'true')));
    kubectlStart.push(await timed(() => kubectlOk('kubectl', 'version', '--client', '-o', 'json')));
    kubectlGet.push(await timed(() => kubectlOk('kubectl', 'get', 'pod', 'target', '-o', 'name')));
  }
  streamer.close();
  runtime.close();
  // every kubectl that speaks websocket first, fewer rounds each
  const byRelease: Record<string, number> = {};
  for (const { release, binary } of websocketKubectls()) {
    const times: number[] = [];
    for (let i = 0; i < Math.ceil(rounds / 2); i++)
      times.push(await timed(() => kubectlOk(binary, 'exec', 'target', '--', 'true')));
    byRelease[release] = round(p50(times));
  }

  // -- logs: wait for the writer to finish, then kubectl logs vs the file on the node
  let logFile = '';
  await waitFor(
    async () => {
      const podDir = (await run(['sh', '-c', `ls -d ${node.podLogDir}/default_writer_* 2>/dev/null`])).stdout.trim();
      if (podDir === '') return false;
      logFile = join(podDir, 'main', '0.log');
      const handle = await open(logFile, 'r').catch(() => undefined);
      if (!handle) return false;
      try {
        const size = (await handle.stat()).size;
        const tail = Buffer.alloc(Math.min(200, size));
        await handle.read(tail, 0, tail.length, size - tail.length);
        return tail.toString().includes('DONE');
      } finally {
        await handle.close();
      }
    },
    { what: `pod writer to finish writing ${logMegabytes} MB`, timeoutMs: 300_000, intervalMs: 500 },
  );
  const fileBytes = statSync(logFile).size;

  let streamed = 0;
  const logsMs = await timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'logs', 'writer'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.on('data', (d: Buffer) => {
          streamed += d.length;
        });
        let err = '';
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
        });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl logs: ${err}`))));
      }),
  );
  let parsed = 0;
  const count = {
    write: (text: string) => {
      parsed += Buffer.byteLength(text);
    },
  };
  const parseMs = await timed(() => readLog(logFile, { stdout: count, stderr: count }));
  const readMs = await timed(async () => {
    readFileSync(logFile);
  });
  if (streamed !== parsed) throw new Error(`kubectl logs gave ${streamed} bytes, the file holds ${parsed}`);

  const result = {
    suite: 'exec',
    quick: values.quick,
    rounds,
    kubectl_exec_p50_ms: round(p50(viaKubectl)),
    websocket_exec_p50_ms: round(p50(viaApi.map((x) => x.totalMs))),
    raw_execsync_p50_ms: round(p50(raw)),
    ratio: round(p50(viaKubectl) / p50(raw), 2),
    websocket_ratio: round(p50(viaApi.map((x) => x.totalMs)) / p50(raw), 2),
    // where a kubectl exec goes (see the header): what kubectl spends on its own, what the runtime
    // spends without bosun, and what the API server and kubelet port add between them
    kubectl_start_p50_ms: round(p50(kubectlStart)),
    kubectl_get_pod_p50_ms: round(p50(kubectlGet)),
    runtime_exec_p50_ms: round(p50(direct.map((x) => x.totalMs))),
    runtime_exec_call_p50_ms: round(p50(direct.map((x) => x.execCallMs))),
    runtime_upgrade_p50_ms: round(p50(direct.map((x) => x.upgradeMs))),
    runtime_stream_p50_ms: round(p50(direct.map((x) => x.streamMs))),
    api_upgrade_p50_ms: round(p50(viaApi.map((x) => x.upgradeMs))),
    api_stream_p50_ms: round(p50(viaApi.map((x) => x.streamMs))),
    bosun_added_p50_ms: round(p50(viaApi.map((x) => x.totalMs)) - p50(direct.map((x) => x.totalMs))),
    kubectl_exec_by_release_p50_ms: byRelease,
    log_payload_mb: round(streamed / 1e6),
    log_file_mb: round(fileBytes / 1e6),
    logs_mb_per_s: round(streamed / 1e6 / (logsMs / 1000)),
    file_parse_mb_per_s: round(parsed / 1e6 / (parseMs / 1000)),
    file_read_mb_per_s: round(fileBytes / 1e6 / (readMs / 1000)),
    loadavg: loadavg().map((x) => round(x, 2)),
  };
  writeResult('exec', values.quick, result);
} finally {
  await sandbox.destroy();
}
