/**
 * The host tools a hollow node's service proxy talks to, without a host: every iptables-restore
 * succeeds and changes nothing, the saves are empty (so the nf_tables backend is chosen and no
 * rules of ours are found), and a chain listing shows each asked-for chain with one rule, so the
 * canary check finds its chains intact and never forces a full resync. The proxy's change
 * tracking, rendering and sync pacing all run for real; only the kernel is missing.
 */
import type { CommandResult, CommandRunner } from '../../netproxy/command-runner.ts';
import { listSeparator } from '../../netproxy/iptables-applier.ts';

export class NullHostRunner implements CommandRunner {
  /** iptables-restore payloads accepted so far (how many syncs the proxy made). */
  restores = 0;

  async run(argv: readonly string[]): Promise<CommandResult> {
    const [command = '', ...args] = argv;
    if (command.endsWith('-restore')) {
      this.restores++;
      return ok('');
    }
    if (command === 'sh' && args[0] === '-c') {
      const chains = [...(args[1] ?? '').matchAll(/ -S ([^\s;]+)/g)].map((m) => m[1]!);
      return ok(chains.map((chain) => `-N ${chain}\n-A ${chain} -j RETURN\n${listSeparator}\n`).join(''));
    }
    return ok('');
  }
}

function ok(stdout: string): CommandResult {
  return { code: 0, stdout, stderr: '' };
}
