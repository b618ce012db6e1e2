/**
 * The executor of address-plan.ts: keeps this node's load-balancer pool addresses on the
 * interface that holds the node IP, as /32 addresses labelled `<dev>:lb`, so they are told apart
 * from every other address of the node (and found again after a restart). One `ip -j addr show`
 * and at most one `ip -batch` per sync; syncs are coalesced (SyncRunner) and repeated every 10 s,
 * so an address someone removed comes back (while there is none to hold, a sync reads nothing).
 *
 * Lifecycle: the constructor does nothing; run(signal) syncs until the signal aborts; addresses
 * stay bound when the agent stops (traffic keeps flowing across an agent restart), and go when
 * the server names another node.
 */
import type { Logger } from 'pino';
import type { Service } from '../../kube/corev1.ts';
import type { CommandRunner } from '../../netproxy/command-runner.ts';
import { SyncRunner } from '../../netproxy/sync-runner.ts';
import { desiredAddresses, planAddresses, type AddressPlan } from './address-plan.ts';
import { announceAddresses } from './address-announcer.ts';

type Json = Record<string, any>;

/** The label our addresses carry: the device name, a colon and a suffix, at most 15 characters. */
function addressLabel(dev: string): string | undefined {
  const label = `${dev}:lb`;
  return label.length <= 15 ? label : undefined;
}

interface ObservedInterface {
  dev: string;
  /** Every IPv4 address of the device. */
  addresses: string[];
  /** Our addresses on it (by label). */
  bound: string[];
}

/** The device holding `nodeIP` and its addresses, from `ip -j addr show`. */
export function parseInterface(json: readonly Json[], nodeIP: string): ObservedInterface | undefined {
  const link = json.find((l) => ((l.addr_info ?? []) as Json[]).some((a) => a.local === nodeIP));
  if (link === undefined) return undefined;
  const dev = String(link.ifname);
  const inet = ((link.addr_info ?? []) as Json[]).filter((a) => a.family === 'inet' && typeof a.local === 'string');
  const label = addressLabel(dev);
  return {
    dev,
    addresses: inet.map((a) => a.local as string),
    bound: inet.filter((a) => label !== undefined && a.label === label).map((a) => a.local as string),
  };
}

/** `ip -batch` lines for a plan on `dev`. */
export function addressBatch(plan: AddressPlan, dev: string, label: string): string[] {
  return [
    ...plan.remove.map((ip) => `address del ${ip}/32 dev ${dev}`),
    ...plan.add.map((ip) => `address add ${ip}/32 dev ${dev} label ${label}`),
  ];
}

interface BinderOptions {
  nodeName: string;
  nodeIP: string;
  runner: CommandRunner;
  /** The Services as the informer holds them, read at each sync. */
  services: () => readonly Service[];
  log: Logger;
  /** Periodic resync; default 10 s. */
  resyncMs?: number;
}

export class LoadBalancerAddressBinder {
  readonly #options: BinderOptions;
  /** `loop.request()` when a Service changed; `loop.run(signal)` syncs until the signal aborts. */
  readonly loop: SyncRunner;
  /** What the last successful sync left bound (tests, logs). */
  bound: readonly string[] = [];
  /** The interface was read once: leftovers of an earlier run are known (and were removed). */
  #observed = false;

  constructor(options: BinderOptions) {
    this.#options = options;
    const attempt = () =>
      this.sync().then(
        () => undefined,
        (err: unknown) => {
          options.log.warn({ err }, 'binding load-balancer addresses failed; will retry');
          this.loop.retryAfter(1_000);
        },
      );
    this.loop = new SyncRunner(attempt, { minIntervalMs: 50, maxIntervalMs: options.resyncMs ?? 10_000 });
  }

  /** One pass: read the interface, plan, apply. Throws when a command fails. */
  async sync(): Promise<AddressPlan> {
    const { runner, nodeIP, nodeName, log } = this.#options;
    // nothing to hold and nothing of ours bound: the periodic pass has nothing to check on the
    // host, and starts no process (what the idle agent did every 10 s)
    if (
      this.#observed &&
      this.bound.length === 0 &&
      desiredAddresses(nodeName, this.#options.services(), []).length === 0
    )
      return { add: [], remove: [] };
    const shown = await runner.run(['ip', '-j', 'addr', 'show'], { timeoutMs: 30_000 });
    if (shown.code !== 0) throw new Error(`ip addr show failed (exit ${shown.code}): ${shown.stderr.trim()}`);
    const observed = parseInterface(JSON.parse(shown.stdout || '[]') as Json[], nodeIP);
    if (observed === undefined) {
      // nothing to hold is no failure, wherever the node IP lives (a node behind NAT, a hollow node)
      if (desiredAddresses(nodeName, this.#options.services(), [nodeIP]).length === 0) {
        this.#observed = true;
        return { add: [], remove: [] };
      }
      throw new Error(`no interface holds the node IP ${nodeIP}`);
    }
    const label = addressLabel(observed.dev);
    if (label === undefined) throw new Error(`interface ${observed.dev}: its name is too long for an address label`);
    const own = observed.addresses.filter((ip) => !observed.bound.includes(ip));
    const plan = planAddresses(desiredAddresses(nodeName, this.#options.services(), own), observed.bound);
    const lines = addressBatch(plan, observed.dev, label);
    if (lines.length > 0) {
      const r = await runner.run(['ip', '-force', '-batch', '-'], {
        input: `${lines.join('\n')}\n`,
        timeoutMs: 30_000,
      });
      if (r.code !== 0) throw new Error(`ip -batch failed (exit ${r.code}): ${r.stderr.trim()}`);
      log.info({ added: plan.add, removed: plan.remove, dev: observed.dev }, 'load-balancer addresses changed');
      // clients still sending to the previous holder learn the move now, not when their cache expires
      await announceAddresses(runner, observed.dev, plan.add).then(
        (through) => log.info({ addresses: plan.add, through }, 'load-balancer addresses announced'),
        (err: unknown) =>
          log.warn({ err, addresses: plan.add }, 'announcing load-balancer addresses failed; clients learn them later'),
      );
    }
    const kept = new Set(observed.bound.filter((ip) => !plan.remove.includes(ip)));
    for (const ip of plan.add) kept.add(ip);
    this.bound = [...kept].sort();
    this.#observed = true;
    return plan;
  }
}
