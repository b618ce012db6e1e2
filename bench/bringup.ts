/**
 * `npm run bench -- bringup [--quick]`: how long a cluster takes to come up on this machine.
 *   sandbox_3_nodes_s  `bosun sandbox up --nodes 3` (the CLI, as a user runs it) until kubectl-visible
 *                      Ready on all three nodes (target ≤ 20 s; images are built once and cached);
 *   join_s             `bosun join` of one node (preflight, discovery, TLS bootstrap, agent start)
 *                      until that node is Ready (target ≤ 5 s).
 * Same-run baseline: the bare sandbox of three nodes (namespaces, containerd, images) with no control
 * plane and no agents, so what the cluster itself adds is visible. Every sandbox has a name unique to
 * this run and is removed afterwards, also when a step fails. Writes bench/results/bringup.json.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../host/process/run.ts';
import { waitFor } from '../host/process/wait.ts';
import { Sandbox } from '../sandbox/sandbox.ts';
import { sandboxRoots } from '../sandbox/names.ts';
import { joinNode, sandboxJoinToken } from '../sandbox/agents.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const rounds = values.quick ? 1 : 3;
const bosun = join(import.meta.dirname, '..', 'bin', 'bosun');
const root = sandboxRoots.tests;
const imageCacheDir = join(import.meta.dirname, '..', '.cache', 'images');
const runId = `${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`;
const seconds = (ms: number) => Math.round(ms / 10) / 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function readyNodes(kubeconfig: string): Promise<number> {
  const out = await run(
    [
      'kubectl',
      '--kubeconfig',
      kubeconfig,
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    ],
    { timeoutMs: 30_000 },
  );
  return out.stdout.split('\n').filter((s) => s === 'True').length;
}

function spec(name: string) {
  return {
    name,
    id: `b${name}`,
    stateDir: join(root, name),
    ownerPid: process.pid,
    images: ['pause', 'busybox'] as const,
    imageCacheDir,
  };
}

/** The bare sandbox: namespaces, containerd per node, images imported; no server, no agents. */
async function baseline(round: number): Promise<number> {
  const started = performance.now();
  const sandbox = await Sandbox.create({ ...spec(`bb${runId}${round}`), images: ['pause', 'busybox'] }, 3);
  const elapsed = performance.now() - started;
  await sandbox.destroy();
  return elapsed;
}

async function sandboxUp(round: number): Promise<number> {
  const name = `bu${runId}${round}`;
  const scope = ['--name', name, '--root', root];
  const started = performance.now();
  try {
    const up = await run([bosun, 'sandbox', 'up', ...scope, '--nodes', '3'], { timeoutMs: 300_000 });
    if (up.code !== 0) throw new Error(`bosun sandbox up failed: ${up.stderr.trim().split('\n').pop()}`);
    const kubeconfig = up.stdout.trim();
    await waitFor(async () => (await readyNodes(kubeconfig)) === 3, {
      what: 'three sandbox nodes Ready',
      timeoutMs: 180_000,
      intervalMs: 100,
    });
    return performance.now() - started;
  } finally {
    await run([bosun, 'sandbox', 'down', ...scope], { timeoutMs: 120_000 });
  }
}

async function joinToReady(round: number): Promise<number> {
  const sandbox = await Sandbox.create({ ...spec(`bj${runId}${round}`), images: ['pause'] }, 1);
  try {
    const plane = await sandbox.startControlPlane();
    const token = await sandboxJoinToken(plane);
    const node = sandbox.nodes[0]!;
    const started = performance.now();
    node.record.agent = await joinNode(node, [plane.port], token, []);
    sandbox.save();
    await waitFor(async () => (await readyNodes(plane.kubeconfig)) === 1, {
      what: `${node.name} Ready after bosun join`,
      timeoutMs: 120_000,
      intervalMs: 50,
    });
    return performance.now() - started;
  } finally {
    await sandbox.destroy();
  }
}

const load = { before: loadavg().map((x) => Math.round(x * 100) / 100) };
const base: number[] = [];
const up: number[] = [];
const join_: number[] = [];
for (let round = 0; round < rounds; round++) {
  base.push(await baseline(round));
  up.push(await sandboxUp(round));
  join_.push(await joinToReady(round));
  process.stdout.write(
    `round ${round + 1}/${rounds}: bare sandbox ${seconds(base.at(-1)!)} s, sandbox up (3 nodes Ready) ${seconds(up.at(-1)!)} s, join to Ready ${seconds(join_.at(-1)!)} s\n`,
  );
}
const result = {
  suite: 'bringup',
  rounds,
  sandbox_3_nodes_s: seconds(median(up)),
  join_s: seconds(median(join_)),
  baseline_bare_sandbox_3_nodes_s: seconds(median(base)),
  cluster_overhead_s: seconds(median(up) - median(base)),
  samples: {
    sandbox_3_nodes_s: up.map(seconds),
    join_s: join_.map(seconds),
    baseline_bare_sandbox_3_nodes_s: base.map(seconds),
  },
  targets: { sandbox_3_nodes_s: 20, join_s: 5 },
  loadavg: { before: load.before, after: loadavg().map((x) => Math.round(x * 100) / 100) },
  unit: 's',
};
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'bringup.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
