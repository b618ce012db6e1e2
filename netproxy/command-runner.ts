/**
 * The seam between the proxy and the host's tools (iptables-restore, conntrack, ipvsadm). The
 * executors take a runner, so tests can hand them a stateful fake; the real one spawns processes,
 * optionally inside another network namespace (`nsenter --net=...`), which is how tests and
 * benchmarks keep every rule away from the host's own namespace.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Runs argv to completion. Never rejects because of the exit code; rejects when it cannot start or times out. */
  run(argv: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
}

export class ProcessRunner implements CommandRunner {
  readonly #prefix: readonly string[];

  /** `prefix` is put in front of every command, e.g. ['nsenter', '--net=/run/netns/x']. */
  constructor(prefix: readonly string[] = []) {
    this.#prefix = prefix;
  }

  run(argv: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
    const full = [...this.#prefix, ...argv];
    return new Promise((resolve, reject) => {
      const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${argv[0]} did not finish within ${options.timeoutMs ?? 60_000} ms`));
      }, options.timeoutMs ?? 60_000);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      child.stdin.on('error', () => {
        /* the tool may exit before reading all input; its exit code tells */
      });
      child.stdin.end(options.input ?? '');
    });
  }
}
