/**
 * `npm run bench -- exec [--quick]`: what the kubelet port costs on top of the runtime.
 *
 *  - exec round trip: `kubectl exec <pod> -- true` (kubectl process start included), the same
 *    exec as one websocket through the API server without kubectl (v4.channel.k8s.io, admin
 *    certificate), and the baseline: CRI ExecSync straight to the node's containerd. p50 of N each.
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
import WebSocket from 'ws';
import { Sandbox } from '../sandbox/sandbox.ts';
import { run } from '../host/process/run.ts';
import { sandboxImages, sandboxRoots } from '../sandbox/names.ts';
import { CriClient } from '../cri/client.ts';
import { readLog } from '../cri/logfile.ts';
import { loadKubeconfig } from '../kube/kubeconfig.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { writeResult } from './report/write-result.ts';

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

  // -- exec: raw CRI ExecSync
  const runtime = new CriClient(node.criEndpoint);
  const [container] = await runtime.listContainers({
    state: { state: 'CONTAINER_RUNNING' },
    labelSelector: { 'io.kubernetes.pod.name': 'target' },
  });
  if (!container) throw new Error('no running container for pod target');
  const raw: number[] = [];
  for (let i = 0; i < rounds; i++) raw.push(await timed(() => runtime.execSync(container.id, ['true'], 10)));
  runtime.close();

  // -- exec: kubectl (its own process start included)
  const viaKubectl: number[] = [];
  for (let i = 0; i < rounds; i++) {
    viaKubectl.push(
      await timed(async () => {
        const r = await kubectl('exec', 'target', '--', 'true');
        if (r.code !== 0) throw new Error(`kubectl exec: ${r.stderr}`);
      }),
    );
  }
  const kubectlVersion = await timed(() => kubectl('version', '--client', '-o', 'json'));

  // -- exec: one websocket through the API server, no kubectl
  const admin = loadKubeconfig(kubeconfig).client;
  const url = `wss://127.0.0.1:${plane.port}/api/v1/namespaces/default/pods/target/exec?command=true&stdout=true&stderr=true`;
  const viaWebsocket: number[] = [];
  for (let i = 0; i < rounds; i++) {
    viaWebsocket.push(
      await timed(
        () =>
          new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(url, ['v4.channel.k8s.io'], {
              ca: admin.ca,
              cert: admin.cert!,
              key: admin.key!,
              followRedirects: false,
            });
            let status = '';
            ws.on('message', (data: Buffer) => {
              if (data[0] === 3) status += data.subarray(1).toString();
            });
            ws.on('close', () =>
              status.includes('Success')
                ? resolve()
                : reject(new Error(`exec over websocket ended without success: ${status}`)),
            );
            ws.on('error', reject);
          }),
      ),
    );
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
    websocket_exec_p50_ms: round(p50(viaWebsocket)),
    raw_execsync_p50_ms: round(p50(raw)),
    ratio: round(p50(viaKubectl) / p50(raw), 2),
    websocket_ratio: round(p50(viaWebsocket) / p50(raw), 2),
    kubectl_start_ms: round(kubectlVersion),
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
