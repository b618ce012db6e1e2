/**
 * Checks before a node joins, each with the fix in its message. Observing the host (observe) is
 * kept apart from judging it (judge), so the judgement is a pure, table-tested function.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { run } from '../process/run.ts';

export interface HostFacts {
  uid: number;
  /** undefined when the runtime answered; else why it did not */
  runtimeProblem: string | undefined;
  runtimeEndpoint: string;
  /** rules (-A lines) found through each iptables backend; undefined when that tool is missing */
  iptablesRules: { legacy: number | undefined; nft: number | undefined };
  swapDevices: number;
  busyPorts: number[];
  clockOffsetMs: number;
  kubeconfigExists: boolean;
  kubeconfigPath: string;
}

export interface PreflightFailure {
  check: 'root' | 'runtime' | 'iptables' | 'swap' | 'ports' | 'clock' | 'joined';
  message: string;
}

export const maxClockOffsetMs = 5 * 60 * 1000;

/**
 * The checks --ignore-preflight-errors names, as kubeadm reads them: in any case, and `all` for
 * every check (alone: naming checks beside it is a mistake kubeadm refuses).
 */
export function ignoredPreflightChecks(items: readonly string[]): Set<string> {
  const checks = new Set(items.map((item) => item.toLowerCase()));
  if (checks.has('all') && checks.size > 1)
    throw new Error(
      `--ignore-preflight-errors: Invalid value: "${items.join(',')}": don't specify individual checks if 'all' is used`,
    );
  return checks;
}

const ignores = (ignore: ReadonlySet<string>, check: PreflightFailure['check']) =>
  ignore.has('all') || ignore.has(check);

export function judge(facts: HostFacts, ignore: ReadonlySet<string> = new Set()): PreflightFailure[] {
  const failures: PreflightFailure[] = [];
  if (facts.uid !== 0)
    failures.push({
      check: 'root',
      message: 'bosun join must run as root (it writes /etc/bosun and starts the node agent)',
    });
  if (facts.kubeconfigExists)
    failures.push({
      check: 'joined',
      message: `this node has already joined (${facts.kubeconfigPath} exists): run bosun reset first to join again`,
    });
  if (facts.runtimeProblem !== undefined)
    failures.push({
      check: 'runtime',
      message: `containerd is not usable at ${facts.runtimeEndpoint}: ${facts.runtimeProblem}`,
    });
  const { legacy, nft } = facts.iptablesRules;
  if ((legacy ?? 0) > 0 && (nft ?? 0) > 0) {
    failures.push({
      check: 'iptables',
      message: `this host has iptables rules in both the legacy (${legacy}) and the nf_tables (${nft}) backend; pick one (update-alternatives --config iptables) and remove the other's rules`,
    });
  }
  if (facts.swapDevices > 0)
    failures.push({
      check: 'swap',
      message:
        'swap is on; the node agent does not support swap yet: turn it off (swapoff -a) or pass --ignore-preflight-errors=swap',
    });
  if (facts.busyPorts.length > 0)
    failures.push({
      check: 'ports',
      message: `port(s) ${facts.busyPorts.join(', ')} are in use; the node agent needs 10250 (kubelet API) and 10256 (proxy health): stop what holds them`,
    });
  failures.push(...judgeClock(facts.clockOffsetMs));
  return failures.filter((f) => !ignores(ignore, f.check));
}

/** The server's clock minus ours (ms): more than 5 minutes either way fails. */
export function judgeClock(offsetMs: number, ignore: ReadonlySet<string> = new Set()): PreflightFailure[] {
  if (ignores(ignore, 'clock') || Math.abs(offsetMs) <= maxClockOffsetMs) return [];
  const seconds = Math.round(offsetMs / 1000);
  return [
    {
      check: 'clock',
      message: `this machine's clock is ${Math.abs(seconds)} s ${seconds > 0 ? 'behind' : 'ahead of'} the server's (at most ${maxClockOffsetMs / 1000} s allowed): fix the time, e.g. with NTP (timedatectl set-ntp true)`,
    },
  ];
}

function portBusy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(false)));
  });
}

async function ruleCount(tool: string): Promise<number | undefined> {
  const result = await run(['sh', '-c', `command -v ${tool} >/dev/null && ${tool}`], { timeoutMs: 20_000 }).catch(
    () => undefined,
  );
  if (result === undefined || result.code !== 0) return undefined;
  return result.stdout.split('\n').filter((line) => line.startsWith('-A ')).length;
}

export async function observe(options: {
  runtimeEndpoint: string;
  probeRuntime: () => Promise<string | undefined>;
  clockOffsetMs: number;
  kubeconfigPath: string;
  ports: readonly number[];
}): Promise<HostFacts> {
  const swaps = existsSync('/proc/swaps') ? readFileSync('/proc/swaps', 'utf8').trim().split('\n').length - 1 : 0;
  const busy: number[] = [];
  for (const port of options.ports) if (await portBusy(port)) busy.push(port);
  return {
    uid: process.getuid?.() ?? -1,
    runtimeProblem: await options.probeRuntime(),
    runtimeEndpoint: options.runtimeEndpoint,
    iptablesRules: { legacy: await ruleCount('iptables-legacy-save'), nft: await ruleCount('iptables-nft-save') },
    swapDevices: swaps,
    busyPorts: busy,
    clockOffsetMs: options.clockOffsetMs,
    kubeconfigExists: existsSync(options.kubeconfigPath),
    kubeconfigPath: options.kubeconfigPath,
  };
}
