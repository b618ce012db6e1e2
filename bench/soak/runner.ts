/**
 * The soak: deploy the workload, start the client load, then for each fault of the seeded schedule
 * inject it and poll every invariant until all hold (the recovery time) or the deadline passes (the
 * problems left are the fault's findings). Bounded: a fixed number of faults, a time budget after
 * which no new fault starts, a deadline per fault, and a load with a fixed number of operations.
 */
import { KubeClient } from '../../kube/client.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { mustRun } from '../../host/process/run.ts';
import { describeFault, scheduleFaults, type Fault } from './faults.ts';
import { executors } from './executors.ts';
import {
  checkAcknowledgedWrites,
  checkLeaks,
  checkNoPodTwice,
  checkRss,
  checkRunning,
  checkServices,
  checkWorkloads,
  type RssSample,
} from './invariants.ts';
import { ClientLoad, type LoadStats } from './load.ts';
import { listPods, nodeStates, probeServices, rssKiB, storedCounters } from './observe.ts';
import { renderTable, summarizeByKind, type FaultOutcome, type KindSummary } from './report.ts';
import type { SoakTarget } from './target.ts';
import { soakManifests, soakServices, soakWorkloads } from './workload.ts';

interface SoakOptions {
  seed: number;
  /** At most this many faults. */
  faults: number;
  /** No fault starts after this much time (setup excluded). */
  budgetMs: number;
  /** How long the invariants may take to hold again after a fault. */
  recoveryDeadlineMs: number;
  /** Quiet time before the RSS baseline and before the final RSS check. */
  settleMs: number;
  /** Allowed RSS growth over the baseline (0.2 = 20 %). */
  rssBound: number;
  /** Longer than the server's --node-monitor-grace-period. */
  partitionMs: number;
  log: (line: string) => void;
}

interface SoakResult {
  seed: number;
  faults: FaultOutcome[];
  byKind: KindSummary[];
  rss: RssSample[];
  rssBound: number;
  /** What was wrong at the end (acknowledged writes, RSS), besides the faults' own findings. */
  finalProblems: string[];
  load: LoadStats;
  passed: boolean;
  table: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pollMs = 2_000;

/** Every invariant but RSS, cheapest first; the Service probes run only once the rest hold. */
async function currentProblems(target: SoakTarget, client: KubeClient, load: ClientLoad): Promise<string[]> {
  try {
    const pods = await listPods(client);
    const states = await nodeStates(target.sandbox, pods);
    const problems = [
      ...checkRunning(rssNow(target)),
      ...checkWorkloads(soakWorkloads, pods),
      ...checkNoPodTwice(Object.fromEntries(states.map((s) => [s.node, s.sandboxes]))),
      ...checkLeaks(states),
      ...checkAcknowledgedWrites(load.acknowledged, await storedCounters(client)),
    ];
    if (problems.length > 0) return problems;
    return checkServices(soakServices, await probeServices(client, target.sandbox, soakServices, pods));
  } catch (err) {
    return [`cannot observe the cluster: ${(err as Error).message.split('\n')[0]}`];
  }
}

/**
 * Polls until no problem is left or the deadline passes; returns the time taken and what is left.
 * Each new set of problems is logged with its time, so a slow recovery shows what held it back.
 */
async function awaitInvariants(
  target: SoakTarget,
  client: KubeClient,
  load: ClientLoad,
  deadlineMs: number,
  log: (line: string) => void,
): Promise<{ ms: number; problems: string[] }> {
  const started = performance.now();
  let previous = '';
  for (;;) {
    const problems = await currentProblems(target, client, load);
    const ms = performance.now() - started;
    if (problems.length === 0 || ms >= deadlineMs) return { ms, problems };
    const text = problems.join('; ');
    if (text !== previous)
      log(`  at ${(ms / 1000).toFixed(1)} s: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`);
    previous = text;
    await sleep(pollMs);
  }
}

function rssNow(target: SoakTarget): Map<string, number | undefined> {
  const figures = new Map<string, number | undefined>();
  figures.set('server', rssKiB(target.sandbox.record.controlPlane?.serverPid));
  for (const node of target.sandbox.nodes) figures.set(`agent ${node.name}`, rssKiB(target.agentPid(node.name)));
  return figures;
}

const mib = (kib: number | undefined) => (kib === undefined ? '—' : `${(kib / 1024).toFixed(1)} MiB`);

export async function runSoak(target: SoakTarget, options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const client = new KubeClient({ ...loadKubeconfig(target.kubeconfig).client, timeoutMs: 10_000 });
  const load = new ClientLoad(client, {
    objects: 20,
    intervalMs: 250,
    maxOps: Math.ceil((options.budgetMs + options.faults * options.recoveryDeadlineMs) / 250),
  });
  try {
    await mustRun(['kubectl', '--kubeconfig', target.kubeconfig, 'apply', '-f', '-'], {
      input: soakManifests(),
      timeoutMs: 60_000,
    });
    const setup = await awaitInvariants(target, client, load, 180_000, () => undefined);
    if (setup.problems.length > 0) throw new Error(`the workload never became healthy: ${setup.problems.join('; ')}`);
    log(`workload healthy after ${(setup.ms / 1000).toFixed(1)} s`);
    await load.prepare();
    load.start();
    await sleep(options.settleMs);
    const baseline = rssNow(target);
    log(`RSS baseline: ${[...baseline].map(([p, kib]) => `${p} ${mib(kib)}`).join(', ')}`);

    const outcomes: FaultOutcome[] = [];
    const plan: Fault[] = scheduleFaults({
      seed: options.seed,
      count: options.faults,
      nodes: target.sandbox.nodes.map((n) => n.name),
    });
    const act = executors(target, client, { partitionMs: options.partitionMs, burstWrites: 500, burstConcurrency: 8 });
    const started = performance.now();
    for (const fault of plan) {
      if (performance.now() - started >= options.budgetMs) break;
      const detail = await act[fault.kind](fault);
      const { ms, problems } = await awaitInvariants(target, client, load, options.recoveryDeadlineMs, log);
      outcomes.push(problems.length === 0 ? { fault, recoveryMs: Math.round(ms), problems } : { fault, problems });
      const rss = [...rssNow(target)].map(([p, kib]) => `${p} ${mib(kib)}`).join(', ');
      log(
        `fault ${fault.index} ${describeFault(fault)} (${detail}): ${problems.length === 0 ? `recovered in ${(ms / 1000).toFixed(1)} s` : `NOT recovered within ${options.recoveryDeadlineMs / 1000} s: ${problems.join('; ')}`}; RSS ${rss}`,
      );
    }

    const loadStats = await load.stop();
    await sleep(options.settleMs);
    const end = rssNow(target);
    const rss: RssSample[] = [...baseline].flatMap(([process, startKiB]) => {
      const nowKiB = end.get(process);
      return startKiB !== undefined && nowKiB !== undefined ? [{ process, startKiB, nowKiB }] : [];
    });
    const finalProblems = [
      ...checkAcknowledgedWrites(load.acknowledged, await storedCounters(client)),
      ...checkRss(rss, options.rssBound),
      ...checkRunning(end),
    ];
    return {
      seed: options.seed,
      faults: outcomes,
      byKind: summarizeByKind(outcomes),
      rss,
      rssBound: options.rssBound,
      finalProblems,
      load: loadStats,
      passed: outcomes.every((o) => o.problems.length === 0) && finalProblems.length === 0,
      table: renderTable(outcomes),
    };
  } finally {
    await load.stop();
    client.close();
  }
}

/** The one JSON line a bench prints last (and saves). */
export function soakSummary(result: SoakResult, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const worstP99 = Math.max(...result.byKind.map((k) => k.p99_ms ?? 0));
  return {
    suite: 'soak',
    ...extra,
    seed: result.seed,
    passed: result.passed,
    faults: result.faults.length,
    recovered: result.faults.filter((o) => o.problems.length === 0).length,
    recovered_pct:
      result.faults.length === 0
        ? 0
        : Math.round((100 * result.faults.filter((o) => o.problems.length === 0).length) / result.faults.length),
    worst_p99_recovery_s: Math.round(worstP99 / 100) / 10,
    by_kind: Object.fromEntries(
      result.byKind.map((k) => [
        k.kind,
        { count: k.count, recovered: k.recovered, p50_ms: k.p50_ms, p99_ms: k.p99_ms, max_ms: k.max_ms },
      ]),
    ),
    rss_mib: Object.fromEntries(
      result.rss.map((s) => [
        s.process,
        { start: Math.round(s.startKiB / 102.4) / 10, end: Math.round(s.nowKiB / 102.4) / 10 },
      ]),
    ),
    rss_bound_pct: Math.round(result.rssBound * 100),
    load: result.load,
    findings: [
      ...result.faults.flatMap((o) => o.problems.map((p) => `${describeFault(o.fault)}: ${p}`)),
      ...result.finalProblems,
    ],
    timeline: result.faults.map((o) => ({ fault: describeFault(o.fault), recovery_ms: o.recoveryMs ?? null })),
  };
}
