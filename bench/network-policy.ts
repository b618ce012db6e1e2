/**
 * `npm run bench -- network-policy [--quick]`: how fast the agent turns NetworkPolicy into rules.
 *
 * A cluster of 1,000 policies (100 with --quick) over 20 namespaces, 100 pods on the measured node
 * and 900 on others. Policies mix what users write: podSelector and namespaceSelector peers, both in
 * one peer, ipBlocks with except, numeric, named and endPort ports, ingress and egress.
 *   - render_ms: compile + the filter payload + the ipset text (pure; median of warm runs), and
 *     render_cpu_ms, the CPU time of the same (what it costs when the host is busy with other work);
 *   - apply_ms: the agent's whole sync into a network namespace that already holds the rules
 *     (read FORWARD and the drop counters, iptables-restore; no set changes), median;
 *   - restore_only_ms: iptables-restore alone of the same payload into another namespace that holds
 *     it, median; each taken right after an apply, so both meet the same load; ratio = apply /
 *     restore_only (target ≤ 1.15, render ≤ 100 ms);
 *   - first_apply_ms: the first sync into an empty namespace (ipsets created too).
 * Every rule goes into namespaces created here, never the host's.
 * Writes bench/results/network-policy[-quick].json; the last line is the JSON summary.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { compile, type NamespaceView, type PodView } from '../agent/network-policy/compile.ts';
import { NetworkPolicyApplier } from '../agent/network-policy/applier.ts';
import { renderFilter, renderSetCreation } from '../agent/network-policy/render.ts';
import type { NetworkPolicy } from '../kube/networkingv1.ts';
import { Lab } from '../test/netproxy/real/lab.ts';
import { TimedRunner } from './command-timings.ts';

const namespaceCount = 20;
const localPods = 100;
const remotePods = 900;

function cluster(policyCount: number): { policies: NetworkPolicy[]; pods: PodView[]; namespaces: NamespaceView[] } {
  const namespaces: NamespaceView[] = Array.from({ length: namespaceCount }, (_, i) => ({
    name: `ns${i}`,
    labels: { team: `t${i % 5}`, 'kubernetes.io/metadata.name': `ns${i}` },
  }));
  const pods: PodView[] = Array.from({ length: localPods + remotePods }, (_, i) => ({
    namespace: `ns${i % namespaceCount}`,
    name: `pod${i}`,
    labels: { app: `app${i % 50}`, tier: i % 3 === 0 ? 'db' : 'web' },
    ip: `10.244.${1 + Math.floor(i / 250)}.${(i % 250) + 2}`,
    local: i < localPods,
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090 + (i % 3), protocol: 'TCP' },
    ],
  }));
  const policies: NetworkPolicy[] = Array.from({ length: policyCount }, (_, i) => {
    const namespace = `ns${i % namespaceCount}`;
    const spec: NetworkPolicy['spec'] = {
      podSelector: { matchLabels: { app: `app${i % 50}` } },
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { tier: 'web' } } },
            { namespaceSelector: { matchLabels: { team: `t${i % 5}` } } },
            {
              namespaceSelector: { matchLabels: { team: `t${(i + 1) % 5}` } },
              podSelector: { matchLabels: { app: `app${(i + 7) % 50}` } },
            },
          ],
          ports: [
            { port: 8080, protocol: 'TCP' },
            { port: 'metrics', protocol: 'TCP' },
          ],
        },
      ],
    };
    if (i % 4 === 0) {
      spec.policyTypes = ['Ingress', 'Egress'];
      spec.egress = [
        {
          to: [{ ipBlock: { cidr: '10.0.0.0/8', except: [`10.${i % 200}.0.0/16`] } }],
          ports: [{ port: 5432, endPort: 5440 }],
        },
        { ports: [{ port: 53, protocol: 'UDP' }] },
      ];
    }
    return { metadata: { namespace, name: `policy${i}` }, spec };
  });
  return { policies, pods, namespaces };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const policyCount = quick ? 100 : 1000;
  const runs = quick ? 3 : 5;
  const input = cluster(policyCount);
  const nothing = { chains: new Set<string>(), hookFirst: true, hookPresent: true };

  const renders: number[] = [];
  const renderCpu: number[] = [];
  let ruleset = compile(input);
  for (let i = 0; i < runs + 2; i++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    ruleset = compile(input);
    renderFilter(ruleset, nothing);
    renderSetCreation(ruleset, new Set());
    const used = process.cpuUsage(cpu);
    if (i >= 2) {
      renders.push(performance.now() - started);
      renderCpu.push((used.user + used.system) / 1000);
    }
  }
  const payload = renderFilter(ruleset, nothing);
  const rules = payload.split('\n').filter((l) => l.startsWith('-A ')).length;

  const lab = new Lab();
  try {
    const measured = await lab.namespace('np');
    const baseline = await lab.namespace('raw');
    const runner = new TimedRunner(lab.runner(measured));
    const applier = new NetworkPolicyApplier(runner);
    const firstApply = await timed(() => applier.apply(ruleset));
    runner.take();
    // the same payload restored alone, into a namespace holding the same sets and rules
    const sets = await lab.run(baseline, ['ipset', 'restore'], renderSetCreation(ruleset, new Set()), 120_000);
    if (sets.code !== 0) throw new Error(`ipset restore: ${sets.stderr}`);
    const restore = () => lab.run(baseline, ['iptables-restore', '-w', '--noflush'], payload, 120_000);
    const first = await restore();
    if (first.code !== 0) throw new Error(`iptables-restore: ${first.stderr}`);

    // applies and restores alone take turns, so that both meet the same load on a shared host
    const applies: number[] = [];
    const restores: number[] = [];
    // each apply split into the processes it ran (by command), to say where an apply's time goes
    const byCommand = new Map<string, number[]>();
    for (let i = 0; i < runs; i++) {
      applies.push(await timed(() => applier.apply(ruleset)));
      for (const [name, spent] of runner.take()) byCommand.set(name, [...(byCommand.get(name) ?? []), spent]);
      restores.push(await timed(restore));
    }

    const summary = {
      suite: 'network-policy',
      quick,
      host_load_average: loadavg().map((x) => Math.round(x * 100) / 100),
      cores: availableParallelism(),
      policies: policyCount,
      pods_on_node: localPods,
      pods_elsewhere: remotePods,
      rules,
      ipsets: ruleset.sets.size,
      payload_kib: round(payload.length / 1024),
      render_ms: round(median(renders)),
      render_cpu_ms: round(median(renderCpu)),
      apply_ms: round(median(applies)),
      restore_only_ms: round(median(restores)),
      ratio: Math.round((median(applies) / median(restores)) * 100) / 100,
      first_apply_ms: round(firstApply),
      /** Median milliseconds per apply spent in each command it ran (the rest is the applier's own work). */
      apply_commands_ms: Object.fromEntries([...byCommand].map(([name, spent]) => [name, round(median(spent))])),
      targets: { render_ms: 100, ratio: 1.15 },
    };
    const dir = join(import.meta.dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `${quick ? 'network-policy-quick' : 'network-policy'}.json`),
      `${JSON.stringify({ ...summary, renders_ms: renders.map(round), applies_ms: applies.map(round), restores_ms: restores.map(round), measured_at: new Date().toISOString() }, null, 2)}\n`,
    );
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    await lab.destroy();
  }
}

await main();
