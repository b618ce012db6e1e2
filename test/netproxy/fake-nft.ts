/**
 * A stateful fake of `nft` for the nftables backend: transactions change an NftModel (refused as
 * the kernel would refuse them, all or nothing), the canary set can be listed, the table deleted,
 * and failures queued. Every other command goes to a FakeHost (the iptables side).
 */
import type { CommandResult, CommandRunner } from '../../netproxy/command-runner.ts';
import { NftError, NftModel } from '../../netproxy/nftables-model.ts';
import { FakeHost } from './fake-host.ts';

export class FakeNft implements CommandRunner {
  readonly model = new NftModel();
  readonly host: FakeHost;
  /** `nft -f` inputs, in order */
  readonly transactions: string[] = [];
  readonly #failures: string[] = [];

  constructor(host = new FakeHost()) {
    this.host = host;
  }

  /** The next `nft` call fails with this message and changes nothing. */
  failNext(stderr = '/dev/stdin:3:1-20: Error: Could not process rule: No such file or directory'): void {
    this.#failures.push(stderr);
  }

  async run(argv: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
    const [command = '', ...args] = argv;
    if (!command.endsWith('/nft') && command !== 'nft') return this.host.run(argv, options);
    const failure = this.#failures.shift();
    if (failure !== undefined) return { code: 1, stdout: '', stderr: failure };
    const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
    const fail = (stderr: string): CommandResult => ({ code: 1, stdout: '', stderr });
    if (args[0] === '-f') {
      this.transactions.push(options.input ?? '');
      try {
        this.model.apply(options.input ?? '');
        return ok();
      } catch (err) {
        if (err instanceof NftError) return fail(`/dev/stdin:${err.message}`);
        throw err;
      }
    }
    const [verb, what, family, table, name] = args;
    const t = this.model.tables.get(`${family} ${table}`);
    if (verb === 'list' && what === 'set') {
      const set = t?.sets.get(name ?? '');
      if (set === undefined) return fail('Error: No such file or directory');
      return ok(
        `table ${family} ${table} {\n\tset ${name} {\n\t\telements = { ${[...set.elements].join(', ')} }\n\t}\n}\n`,
      );
    }
    if (verb === 'delete' && what === 'table') {
      if (t === undefined) return fail('Error: No such file or directory');
      this.model.tables.delete(`${family} ${table}`);
      return ok();
    }
    return fail(`fake nft: unsupported ${args.join(' ')}`);
  }
}
