/**
 * The fault soak in its short form: three sandbox nodes (real containerd, a real `bosun server`,
 * one agent each) running two Deployments and a StatefulSet behind Services under a steady client
 * load, then one fault of every kind in the order seed 26 gives — agent and containerd SIGKILL and
 * restart, a partition longer than the grace period, server SIGKILL and restart, a burst of 500
 * writes, a flush of bosun's iptables chains on a node — each followed by every invariant
 * holding again within its deadline. The long run is `npm run bench -- soak`.
 */
import test from 'ava';
import { runSoak, soakSummary } from '../../bench/soak/runner.ts';
import { faultKinds } from '../../bench/soak/faults.ts';
import { useSandboxCluster } from '../helpers/sandbox-cluster.ts';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// grace shortened from 50 s so that a partition outlasts it within the test's time, yet longer
// than the agents' 10 s lease renewal so that a healthy node never looks silent
const graceSeconds = 15;
const cluster = useSandboxCluster({
  idPrefix: 'bsk',
  nodes: 3,
  serverArgs: ['--node-monitor-grace-period', `${graceSeconds}s`, '--node-monitor-period', '1s'],
});

/** The server's and agents' logs, copied out of the sandbox folder that teardown removes. */
function keepLogs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-soak-logs-'));
  const sandbox = cluster.sandbox();
  const files: [string, string][] = [
    [join(sandbox.stateDir, 'server.log'), 'server.log'],
    ...sandbox.nodes.map((n): [string, string] => [join(n.stateDir, 'agent.log'), `agent-${n.name}.log`]),
  ];
  for (const [from, to] of files) if (existsSync(from)) copyFileSync(from, join(dir, to));
  return dir;
}

test.serial('after each fault of a seeded soak every invariant holds again within its deadline', async (t) => {
  t.timeout(900_000, 'six faults with their recoveries on a shared machine');
  const result = await runSoak(
    {
      sandbox: cluster.sandbox(),
      kubeconfig: cluster.kubeconfig(),
      agentPid: (node) => cluster.agent(node).running?.pid,
      killAgent: (node) => cluster.agent(node).kill(),
      // the restart is over once the agent is ready: the next fault must not hit it half started
      startAgent: async (node) => {
        cluster.agent(node).start();
        await cluster.agent(node).ready(120_000);
      },
    },
    {
      seed: 26,
      faults: faultKinds.length,
      budgetMs: 150_000,
      recoveryDeadlineMs: 90_000,
      settleMs: 10_000,
      // a short run has no time to settle memory: the bound is looser here than the bench's 20 %
      rssBound: 0.5,
      partitionMs: (graceSeconds + 5) * 1000,
      log: (line) => t.log(line),
    },
  );
  t.log(`\n${result.table}`);
  if (!result.passed) t.log(`logs kept in ${keepLogs()}`);
  t.log('RSS bound in this short run: 50 % over the start (the bench soak uses 20 %)');
  const summary = soakSummary(result, { duration: 'in-suite' });
  t.log(JSON.stringify(summary));
  t.deepEqual(
    result.faults.map((o) => o.fault.kind).sort(),
    [...faultKinds].sort(),
    'every kind of fault was injected',
  );
  t.deepEqual(summary.findings, []);
  t.true(result.passed);
});
