/**
 * `npm run bench -- ingress [--quick]`: the agent's built-in ingress proxy against the pod itself.
 *
 * One sandbox node joined through `bosun join`; a busybox httpd pod behind a Service and an
 * Ingress (host bench.test, TLS from a Secret issued by a test CA). From the sandbox's hub
 * namespace (outside the cluster; a route to the pod's address through its node, made here), the
 * same bounded load loop (bench/ingress/load.ts: keep-alive HTTP/1.1, 8 at a time) is sent in
 * interleaved rounds, so all three meet the same load on this shared machine:
 *   - direct: to the pod's IP and port;
 *   - ingress: to the node's port 80 with Host bench.test, through the proxy to the pod;
 *   - ingress_tls: to the node's port 443, SNI bench.test, verified against the test CA;
 *   - library: to a reverse proxy built on http-proxy-3 (bench/ingress/library-proxy.ts), run in the
 *     node's namespace beside the agent and sending to the same pod: the maintained library the
 *     built-in proxy is compared with.
 * Reports requests/s, p50 and p99 of each; targets: ingress throughput ≥ 0.5 × direct, added p99
 * (ingress − direct) ≤ 2 ms. busybox httpd answers one request per connection, so every request
 * is a new TCP connection to the pod in each mode. Prints one JSON object as its last line and
 * writes bench/results/ingress(-quick).json.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { run } from '../host/process/run.ts';
import { inNetns } from '../host/process/process.ts';
import { kubectlOk } from '../test/bed/kubectl.ts';
import { bedImages, createTestSandbox } from '../test/bed/index.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { createTestCa } from '../test/agent/ingress/test-ca.ts';
import { writeResult } from './report/write-result.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const quick = values.quick;
const rounds = quick ? 2 : 4;
const perRound = quick ? 500 : 2000;
const concurrency = 8;
const loadTool = join(import.meta.dirname, 'ingress', 'load.ts');
const host = 'bench.test';

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

type Mode = 'direct' | 'ingress' | 'ingress_tls' | 'library';
const modes = ['direct', 'ingress', 'ingress_tls', 'library'] as const;
const libraryPort = 18080;

async function main(): Promise<void> {
  let sandbox: Sandbox | undefined;
  let library: ReturnType<typeof spawn> | undefined;
  try {
    sandbox = await createTestSandbox('bng', 1);
    const kubeconfig = (await sandbox.startControlPlane()).kubeconfig;
    await sandbox.joinAgents();
    const kubectl = (args: string[], input?: string) => kubectlOk({ kubeconfig, input, timeoutMs: 120_000 }, args);
    const node = sandbox.node('node-1');
    await waitFor(async () => / Ready /.test(await kubectl(['get', 'node', 'node-1', '--no-headers'])), {
      what: 'node-1 Ready',
      timeoutMs: 120_000,
      intervalMs: 500,
    });

    const ca = await createTestCa();
    const pair = await ca.issue([host]);
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: 'bench-tls' },
      data: {
        'tls.crt': Buffer.from(pair.certPem).toString('base64'),
        'tls.key': Buffer.from(pair.keyPem).toString('base64'),
      },
    };
    const objects = [
      secret,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          nodeName: 'node-1',
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: 'httpd',
              image: bedImages.busybox,
              command: ['sh', '-c', 'mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www'],
              ports: [{ containerPort: 8080, name: 'web' }],
            },
          ],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'web' },
        spec: {
          tls: [{ hosts: [host], secretName: 'bench-tls' }],
          rules: [
            {
              host,
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
                ],
              },
            },
          ],
        },
      },
    ];
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    await kubectl(['wait', '--for=condition=Ready', 'pod/web', '--timeout=120s']);
    const podIP = (await kubectl(['get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}'])).trim();
    // the hub reaches the pod through its node, as a router in front of the cluster would
    const route = await run(['ip', '-n', sandbox.hubNetns, 'route', 'replace', `${podIP}/32`, 'via', node.ip]);
    if (route.code !== 0) throw new Error(`route to the pod: ${route.stderr}`);

    library = spawn(
      'ip',
      [
        'netns',
        'exec',
        node.netns,
        process.execPath,
        join(import.meta.dirname, 'ingress', 'library-proxy.ts'),
        String(libraryPort),
        `http://${podIP}:8080`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const started = library;
    await new Promise<void>((resolve, reject) => {
      started.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      started.once('exit', (code) => reject(new Error(`the http-proxy-3 proxy exited ${code}`)));
    });
    const specs: Record<Mode, Record<string, unknown>> = {
      library: { url: `http://${node.ip}:${libraryPort}/`, host },
      direct: { url: `http://${podIP}:8080/` },
      ingress: { url: `http://${node.ip}/`, host },
      ingress_tls: { url: `https://${node.ip}/`, host, servername: host, ca: ca.certPem },
    };
    const load = async (mode: Mode, count: number) => {
      const result = await run(
        inNetns(sandbox!.hubNetns, [
          process.execPath,
          loadTool,
          JSON.stringify({ ...specs[mode], count, concurrency, deadlineMs: 120_000 }),
        ]),
        { timeoutMs: 180_000 },
      );
      if (result.code !== 0) throw new Error(`load ${mode}: ${result.stderr.trim()}`);
      return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
        wallMs: number;
        failed: number;
        latencies: number[];
      };
    };
    // every mode answers before anything is measured (the proxy may still be reading the Ingress)
    for (const mode of modes) {
      await waitFor(async () => (await load(mode, 1)).failed === 0, {
        what: `${mode} to answer`,
        timeoutMs: 60_000,
        intervalMs: 500,
      });
      await load(mode, 200);
    }

    const samples: Record<Mode, { latencies: number[]; wallMs: number; failed: number }> = {
      direct: { latencies: [], wallMs: 0, failed: 0 },
      ingress: { latencies: [], wallMs: 0, failed: 0 },
      ingress_tls: { latencies: [], wallMs: 0, failed: 0 },
      library: { latencies: [], wallMs: 0, failed: 0 },
    };
    for (let r = 0; r < rounds; r++) {
      for (const mode of modes) {
        const result = await load(mode, perRound);
        samples[mode].latencies.push(...result.latencies);
        samples[mode].wallMs += result.wallMs;
        samples[mode].failed += result.failed;
      }
    }
    const stats = (mode: Mode) => {
      const sorted = [...samples[mode].latencies].sort((a, b) => a - b);
      return {
        requests: sorted.length,
        failed: samples[mode].failed,
        rps: round((sorted.length / samples[mode].wallMs) * 1000, 0),
        p50_ms: round(percentile(sorted, 50)),
        p99_ms: round(percentile(sorted, 99)),
      };
    };
    const direct = stats('direct');
    const ingress = stats('ingress');
    const tls = stats('ingress_tls');
    const viaLibrary = stats('library');
    writeResult('ingress', quick, {
      suite: 'ingress',
      quick,
      host_load_average: loadavg().map((x) => round(x)),
      concurrency,
      rounds,
      requests_per_round: perRound,
      direct,
      ingress,
      ingress_tls: tls,
      throughput_ratio: round(ingress.rps / direct.rps),
      throughput_ratio_tls: round(tls.rps / direct.rps),
      added_p50_ms: round(ingress.p50_ms - direct.p50_ms),
      added_p99_ms: round(ingress.p99_ms - direct.p99_ms),
      added_p99_tls_ms: round(tls.p99_ms - direct.p99_ms),
      library: viaLibrary,
      library_throughput_ratio: round(viaLibrary.rps / direct.rps),
      library_added_p99_ms: round(viaLibrary.p99_ms - direct.p99_ms),
      targets: { throughput_ratio: 0.5, added_p99_ms: 2 },
      proxy: "Node's http/http2 modules; http-proxy-3 2.0.1 measured beside it in the same run",
      measured_at: new Date().toISOString(),
    });
  } finally {
    if (library?.pid !== undefined && library.exitCode === null) process.kill(library.pid, 'SIGTERM');
    await sandbox?.destroy();
  }
}

await main();
