/**
 * `npm run bench -- soak [--quick] [--minutes=N] [--seed=N]`: the fault soak. A 3-node sandbox
 * (real containerd per node, a real `bosun server`, agents joined with `bosun join`) runs two
 * Deployments and a StatefulSet behind Services under a steady client load; faults from a seeded
 * schedule hit it one after another (agent, containerd and server SIGKILL + restart, a partition
 * longer than the node-monitor grace period, 500-write bursts, iptables flushes inside a node's
 * namespace) and after each the invariants must hold again within 120 s (bench/soak/invariants.ts).
 *
 * Bounded: faults start only during the budget — 10 minutes by default (the machine's two cores are
 * shared, and ten minutes already deals each kind of fault several times), `--minutes` to change it,
 * 2 with --quick — each fault waits at most 120 s for recovery, and the load has a fixed count.
 * Prints the per-fault table, then one JSON line; writes bench/results/soak.json.
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Sandbox } from '../sandbox/sandbox.ts';
import { sandboxRoots } from '../sandbox/names.ts';
import { waitFor } from '../host/process/wait.ts';
import { runSoak, soakSummary } from './soak/runner.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    minutes: { type: 'string' },
    seed: { type: 'string', default: '26' },
  },
});
const minutes = Number(values.minutes ?? (values.quick ? 2 : 10));
const seed = Number(values.seed);
if (!(minutes > 0 && minutes <= 120) || !Number.isInteger(seed)) {
  process.stderr.write('bench soak: --minutes must be in (0, 120] and --seed an integer\n');
  process.exit(2);
}
const graceSeconds = 15;

/** How many times an agent's log says it became ready. */
function agentReadyLines(log: string | undefined): number {
  if (log === undefined || !existsSync(log)) return 0;
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"agent ready"')).length;
}
const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);

const id = `bsoak${process.pid.toString(36)}`;
const sandbox = await Sandbox.create(
  {
    name: id,
    id,
    stateDir: join(sandboxRoots.tests, id),
    ownerPid: process.pid,
    images: ['pause', 'busybox'],
    imageCacheDir: join(import.meta.dirname, '..', '.cache', 'images'),
  },
  3,
);
let destroyed: Promise<void> | undefined;
const destroy = () =>
  (destroyed ??= sandbox.destroy().catch((err: Error) => {
    log(`teardown: ${err.message}`);
  }));
process.once('SIGINT', () => {
  void destroy().then(() => process.exit(130));
});

try {
  const loadAtStart = loadavg()[0]!;
  // grace shortened from 50 s so that partitions outlast it many times in one run
  const plane = await sandbox.startControlPlane([
    '--node-monitor-grace-period',
    `${graceSeconds}s`,
    '--node-monitor-period',
    '1s',
  ]);
  await sandbox.joinAgents();
  const started = Date.now();
  const result = await runSoak(
    {
      sandbox,
      kubeconfig: plane.kubeconfig,
      agentPid: (node) => (sandbox.agentRunning(node) ? sandbox.node(node).record.agent?.pid : undefined),
      killAgent: (node) => sandbox.killAgent(node),
      // the restart is over once the agent is ready: the next fault must not hit it half started
      startAgent: async (node) => {
        const readyLines = () => agentReadyLines(sandbox.node(node).record.agent?.log);
        const before = readyLines();
        await sandbox.startAgent(node);
        await waitFor(
          () => {
            if (!sandbox.agentRunning(node)) throw new Error(`the agent of ${node} exited while starting; see its log`);
            return readyLines() > before;
          },
          { what: `the agent of ${node} ready`, timeoutMs: 120_000, intervalMs: 200 },
        );
      },
    },
    {
      seed,
      faults: 1000,
      budgetMs: minutes * 60_000,
      recoveryDeadlineMs: 120_000,
      settleMs: 30_000,
      rssBound: 0.2,
      partitionMs: (graceSeconds + 5) * 1000,
      log,
    },
  );
  process.stdout.write(`${result.table}\n\n`);
  const summary = soakSummary(result, {
    minutes,
    load_at_start: Math.round(loadAtStart * 100) / 100,
    run_s: Math.round((Date.now() - started) / 1000),
  });
  const resultsDir = join(import.meta.dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, `soak${values.quick ? '-quick' : ''}.json`),
    `${JSON.stringify({ ...summary, outcomes: result.faults, measured_at: new Date().toISOString() }, null, 2)}\n`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (!result.passed) process.exitCode = 1;
} finally {
  await destroy();
}
