/**
 * The seam between the proxy and the host's tools (iptables-restore, conntrack, ipvsadm, nft). The
 * executors take a runner, so tests can hand them a stateful fake; the real one spawns processes,
 * optionally inside another network namespace (`nsenter --net=...`), which is how tests and
 * benchmarks keep every rule away from the host's own namespace.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A process that stays up between requests (a long-lived `nft -i`): text goes to its stdin, its
 * stderr comes back in chunks, its stdout is discarded.
 */
export interface LongLivedProcess {
  readonly pid: number | undefined;
  write(text: string): void;
  onStderr(listener: (chunk: string) => void): void;
  /** Called once, when the process has exited (or could not start: code null). */
  onExit(listener: (code: number | null) => void): void;
  /** Whether the process keeps this one alive; held only while an answer is awaited. */
  hold(held: boolean): void;
  kill(signal: NodeJS.Signals): void;
}

export interface CommandRunner {
  /** Runs argv to completion. Never rejects because of the exit code; rejects when it cannot start or times out. */
  run(argv: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /**
   * Starts argv as a long-lived process, in the same place run() would run it. Optional: callers
   * fall back to run() when a runner cannot.
   */
  start?(argv: readonly string[], options?: { env?: Readonly<Record<string, string>> }): LongLivedProcess;
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

  start(argv: readonly string[], options: { env?: Readonly<Record<string, string>> } = {}): LongLivedProcess {
    const full = [...this.#prefix, ...argv];
    const child = spawn(full[0]!, full.slice(1), {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    const exitListeners: ((code: number | null) => void)[] = [];
    let exited = false;
    const exit = (code: number | null) => {
      if (exited) return;
      exited = true;
      for (const listener of exitListeners) listener(code);
    };
    child.on('error', () => exit(null));
    child.on('exit', (code) => exit(code));
    child.stdin.on('error', () => {
      /* the process went away; its exit is reported */
    });
    const streams = [child.stdin, child.stderr] as (Writable | Readable)[];
    const hold = (held: boolean) => {
      if (held) child.ref();
      else child.unref();
      for (const stream of streams) {
        const handle = stream as Partial<{ ref(): void; unref(): void }>;
        if (held) handle.ref?.();
        else handle.unref?.();
      }
    };
    hold(false);
    return {
      pid: child.pid,
      write: (text) => {
        if (!exited) child.stdin.write(text);
      },
      onStderr: (listener) => child.stderr.setEncoding('utf8').on('data', (chunk: string) => listener(chunk)),
      onExit: (listener) => {
        if (exited) listener(child.exitCode);
        else exitListeners.push(listener);
      },
      hold,
      kill: (signal) => {
        if (!exited) child.kill(signal);
      },
    };
  }
}
