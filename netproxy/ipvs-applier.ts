/**
 * Thin executor for the IPVS backend: the dummy interface and its addresses, the ipsets, the
 * IPVS table (a diff against `ipvsadm -Sn`), then the small iptables payload. Each step is one
 * process; the planning is in ipvs-renderer.ts and the pure helpers below.
 */
import type { HookRule } from './chain-names.ts';
import type { CommandRunner } from './command-runner.ts';
import { ProxyError, ProxyErrorCode } from './errors.ts';
import { insertHooks } from './hooks.ts';
import type { IptablesApplier } from './iptables-applier.ts';
import { ipsetRestoreText, ipvsInterface, ipvsPlanCommands, parseIpvsSave, type IpvsPlan } from './ipvs-renderer.ts';

/** `ip addr` commands that make the dummy interface hold exactly `wanted`. */
export function planInterfaceAddresses(observed: readonly string[], wanted: readonly string[]): string[][] {
  const have = new Set(observed);
  const want = new Set(wanted);
  return [
    ...[...have]
      .filter((a) => !want.has(a))
      .sort()
      .map((a) => ['ip', 'addr', 'del', `${a}/32`, 'dev', ipvsInterface]),
    ...[...want]
      .filter((a) => !have.has(a))
      .sort()
      .map((a) => ['ip', 'addr', 'add', `${a}/32`, 'dev', ipvsInterface]),
  ];
}

/** Addresses in `ip -o -4 addr show dev <if>` output. */
export function parseInterfaceAddresses(text: string): string[] {
  return [...text.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
}

/** Why this kernel cannot run IPVS, from `ipvsadm -Ln`'s result; undefined when it can. */
export function ipvsUnavailable(result: { code: number; stderr: string }): string | undefined {
  if (result.code === 0) return undefined;
  return result.stderr.trim().split('\n')[0] || `ipvsadm exited ${result.code}`;
}

export class IpvsApplier {
  readonly #runner: CommandRunner;
  readonly #iptables: IptablesApplier;

  constructor(runner: CommandRunner, iptables: IptablesApplier) {
    this.#runner = runner;
    this.#iptables = iptables;
  }

  /** Fails with ProxyError(noIpvs) when the kernel has no IPVS. */
  async check(): Promise<void> {
    const r = await this.#runner.run(['ipvsadm', '-Ln'], { timeoutMs: 10_000 });
    const why = ipvsUnavailable(r);
    if (why !== undefined)
      throw new ProxyError(
        ProxyErrorCode.noIpvs,
        `IPVS is not usable on this kernel (${why}); load ip_vs or use the iptables mode`,
      );
  }

  async apply(plan: IpvsPlan, missingHooks: readonly HookRule[]): Promise<void> {
    await this.#must(['ip', 'link', 'add', ipvsInterface, 'type', 'dummy'], [/File exists/]);
    await this.#must(['ip', 'link', 'set', ipvsInterface, 'up']);
    const shown = await this.#must(['ip', '-o', '-4', 'addr', 'show', 'dev', ipvsInterface]);
    for (const argv of planInterfaceAddresses(parseInterfaceAddresses(shown), plan.interfaceAddresses))
      await this.#must(argv);
    await this.#must(['ipset', 'restore', '-exist'], [], ipsetRestoreText(plan.ipsets));
    const observed = parseIpvsSave(await this.#must(['ipvsadm', '-Sn']));
    const commands = ipvsPlanCommands(plan.virtualServers, observed);
    if (commands.length > 0) await this.#must(['ipvsadm', '--restore'], [], `${commands.join('\n')}\n`);
    await this.#iptables.restore(insertHooks(plan.iptablesPayload, missingHooks));
  }

  async #must(argv: readonly string[], tolerated: readonly RegExp[] = [], input?: string): Promise<string> {
    const r = await this.#runner.run(argv, input === undefined ? { timeoutMs: 60_000 } : { input, timeoutMs: 60_000 });
    if (r.code !== 0 && !tolerated.some((re) => re.test(r.stderr))) {
      throw new ProxyError(
        ProxyErrorCode.commandFailed,
        `${argv.slice(0, 3).join(' ')} failed (exit ${r.code}): ${r.stderr.trim().split('\n')[0]}`,
      );
    }
    return r.stdout;
  }
}
