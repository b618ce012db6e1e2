/**
 * A CommandRunner that times every command it runs, by command name, so that a bench can split an
 * operation that runs several processes (an apply: ipset, iptables-restore, checks) into them.
 */
import type { CommandResult, CommandRunner } from '../netproxy/command-runner.ts';

/** Restore input that only lists chains (`-S`, `-L`) and so writes nothing: a read of the table. */
const listsOnly = (input: string) =>
  input.split('\n').every((line) => line === '' || line === 'COMMIT' || /^(\*|-S |-L )/.test(line));

/**
 * `iptables-restore -w` → `iptables-restore`; `ipset restore` → `ipset restore` (a subcommand names
 * more than a flag); an iptables-restore that only lists → `iptables-restore (read)`, apart from
 * the restore that writes.
 */
export function commandName(argv: readonly string[], input?: string): string {
  const [program = '', next] = argv;
  const base = program.split('/').at(-1) ?? program;
  if (base.endsWith('-restore') && input !== undefined && listsOnly(input)) return `${base} (read)`;
  return next !== undefined && /^[a-z][a-z-]*$/.test(next) ? `${base} ${next}` : base;
}

export class TimedRunner implements CommandRunner {
  readonly #inner: CommandRunner;
  /** Milliseconds per command name, since the last take(). */
  #spent = new Map<string, number>();

  constructor(inner: CommandRunner) {
    this.#inner = inner;
  }

  async run(argv: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult> {
    const started = performance.now();
    try {
      return await this.#inner.run(argv, options);
    } finally {
      const name = commandName(argv, options?.input);
      this.#spent.set(name, (this.#spent.get(name) ?? 0) + performance.now() - started);
    }
  }

  /** What each command name took since the last call, and starts counting afresh. */
  take(): Map<string, number> {
    const spent = this.#spent;
    this.#spent = new Map();
    return spent;
  }
}
