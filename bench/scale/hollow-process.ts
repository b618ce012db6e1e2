/**
 * `bosun hollow` as a child process (benchmarks and tests): follows its JSON progress lines and
 * stops it by PID (SIGTERM, then SIGKILL if it lingers), also when the parent exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');

interface HollowProgress {
  hollow: string;
  /** Every node of the process joined or gave up. */
  started: boolean;
  nodes: number;
  joined: number;
  ready: number;
  failed: number;
  rss_mib: number;
  heap_mib: number;
  last_error?: string;
}

interface HollowProcessOptions {
  server: string;
  /** More API servers the nodes fail over to (bosun hollow --servers). */
  servers?: readonly string[];
  /** The tail of a `bosun join` line: ['--token', t, '--discovery-token-ca-cert-hash', h]. */
  joinArgs: readonly string[];
  nodes: number;
  firstIndex: number;
  namePrefix: string;
  joinConcurrency?: number;
  runtimeLatencyMs?: number;
  podResyncSeconds?: number;
}

export class HollowProcess {
  readonly #child: ChildProcess;
  readonly #onExit: () => void;
  latest: HollowProgress | undefined;
  stderrTail = '';

  /** The nodes' folders: ours, so they go also when the process had to be killed before it cleaned up. */
  readonly #dataDir = mkdtempSync(join(tmpdir(), 'bosun-hollow-'));

  constructor(options: HollowProcessOptions) {
    const args = [
      join(repo, 'cli/main.ts'),
      'hollow',
      options.server,
      ...(options.servers !== undefined && options.servers.length > 0 ? ['--servers', options.servers.join(',')] : []),
      ...options.joinArgs,
      '--data-dir',
      this.#dataDir,
      '--nodes',
      String(options.nodes),
      '--first-index',
      String(options.firstIndex),
      '--name-prefix',
      options.namePrefix,
      '--join-concurrency',
      String(options.joinConcurrency ?? 16),
      '--runtime-latency-ms',
      String(options.runtimeLatencyMs ?? 0),
      '--pod-resync-seconds',
      String(options.podResyncSeconds ?? 60),
      '--progress-seconds',
      '2',
    ];
    // Hollow nodes stand in for other machines: on this one they must not take the control plane's
    // CPU, so they run at a lower priority (kubemark runs them on machines of their own). `nice`
    // execs node, so every thread of the process has the lower priority and the PID stays node's.
    this.#child = spawn('nice', ['-n', '10', process.execPath, '--max-semi-space-size=1', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.latest = JSON.parse(line) as HollowProgress;
        } catch {
          // not a progress line
        }
      }
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2000);
    });
    this.#onExit = () => {
      if (this.running) this.#child.kill('SIGKILL');
      rmSync(this.#dataDir, { recursive: true, force: true });
    };
    process.once('exit', this.#onExit);
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Why the process ended early, or undefined while it runs. */
  get exitReason(): string | undefined {
    if (this.running) return undefined;
    return `exited ${this.#child.exitCode ?? this.#child.signalCode}: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}`;
  }

  async stop(graceMs = 20_000): Promise<void> {
    process.off('exit', this.#onExit);
    if (this.running) {
      const exited = new Promise((r) => this.#child.once('exit', r));
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}
