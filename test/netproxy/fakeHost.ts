/**
 * A stateful fake of the host tools the proxy runs: iptables-{nft,legacy}-{restore,save}, the
 * iptables -S listing, and conntrack. It keeps its tables in an IptablesModel (so a bad payload is
 * refused as the kernel would refuse it), records every call, and fails on request.
 */
import type { CommandResult, CommandRunner } from '../../netproxy/commandRunner.ts';
import { IptablesModel, RestoreError } from '../../netproxy/iptablesModel.ts';

export class FakeHost implements CommandRunner {
  readonly nft = new IptablesModel();
  readonly legacy = new IptablesModel();
  readonly calls: { argv: string[]; input?: string }[] = [];
  readonly conntrackDeletes: string[][] = [];
  /** Queued failures: command name -> stderr texts, used one per call. */
  readonly #failures = new Map<string, string[]>();

  failNext(command: string, stderr = 'iptables-restore: line 3 failed'): void {
    const list = this.#failures.get(command) ?? [];
    list.push(stderr);
    this.#failures.set(command, list);
  }

  restores(): string[] {
    return this.calls.filter((c) => c.argv[0]!.endsWith('-restore')).map((c) => c.input ?? '');
  }

  async run(argv: readonly string[], options: { input?: string } = {}): Promise<CommandResult> {
    const call: { argv: string[]; input?: string } = { argv: [...argv] };
    if (options.input !== undefined) call.input = options.input;
    this.calls.push(call);
    const [command = '', ...args] = argv;
    const failure = this.#failures.get(command)?.shift();
    if (failure !== undefined) return { code: 1, stdout: '', stderr: failure };
    const model = command.includes('legacy') ? this.legacy : this.nft;
    if (command.endsWith('-restore')) {
      if (!args.includes('--noflush')) return { code: 2, stdout: '', stderr: 'fake: the proxy must never restore without --noflush' };
      try {
        model.restore(options.input ?? '');
        return { code: 0, stdout: '', stderr: '' };
      } catch (err) {
        if (err instanceof RestoreError) return { code: 1, stdout: '', stderr: `iptables-restore: ${err.message}` };
        throw err;
      }
    }
    if (command.endsWith('-save')) {
      const t = args.indexOf('-t');
      return { code: 0, stdout: model.save(t >= 0 ? args[t + 1] : undefined), stderr: '' };
    }
    if (command === 'iptables-nft' || command === 'iptables-legacy') {
      const table = args[args.indexOf('-t') + 1] ?? 'filter';
      const chain = args[args.indexOf('-S') + 1] ?? '';
      const rules = model.tables.get(table)?.get(chain);
      if (rules === undefined) return { code: 1, stdout: '', stderr: `iptables: No chain/target/match by that name.` };
      return { code: 0, stdout: [`-N ${chain}`, ...rules.map((r) => `-A ${chain} ${r}`)].join('\n') + '\n', stderr: '' };
    }
    if (command === 'conntrack') {
      this.conntrackDeletes.push(args);
      return { code: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' };
    }
    return { code: 127, stdout: '', stderr: `fake: unknown command ${command}` };
  }
}
