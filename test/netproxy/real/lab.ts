/**
 * A small network lab for real-host proxy tests: network namespaces and veths that the test
 * creates (names carry the test process id), processes started inside them by PID, and one
 * destroy() that removes all of it. Nothing is ever configured in the host's own namespace:
 * links are created inside a lab namespace and their peers moved straight into another one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessRunner, type CommandResult } from '../../../netproxy/command-runner.ts';

const host = new ProcessRunner();

/** Why this machine cannot run real-host tests, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const tool of ['/usr/sbin/ip', '/usr/bin/nsenter', '/usr/bin/busybox', '/usr/sbin/iptables-nft-restore']) {
    if (!existsSync(tool) && !existsSync(tool.replace('/usr/sbin/', '/sbin/'))) return `missing ${tool}`;
  }
  return undefined;
}

export class Lab {
  readonly id = `${process.pid.toString(36)}`;
  readonly dir = mkdtempSync(join(tmpdir(), `bosun-netproxy-${process.pid}-`));
  readonly #namespaces: string[] = [];
  readonly #children: ChildProcess[] = [];

  /** Runs a command on the host side (only `ip netns ...` and `ip -n <lab ns> ...` are used). */
  async sh(argv: readonly string[], input?: string): Promise<CommandResult> {
    const r = await host.run(argv, input === undefined ? { timeoutMs: 30_000 } : { input, timeoutMs: 30_000 });
    return r;
  }

  async must(argv: readonly string[]): Promise<string> {
    const r = await this.sh(argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** A new namespace `bnp<id><suffix>`, with loopback up. */
  async namespace(suffix: string): Promise<string> {
    const name = `bnp${this.id}${suffix}`;
    await this.must(['ip', 'netns', 'add', name]);
    this.#namespaces.push(name);
    await this.must(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** Prefix that runs a command inside a namespace (keeps the host's mount namespace). */
  enter(ns: string): string[] {
    return ['nsenter', `--net=/run/netns/${ns}`];
  }

  runner(ns: string): ProcessRunner {
    return new ProcessRunner(this.enter(ns));
  }

  async inNs(ns: string, argv: readonly string[], timeoutMs = 30_000): Promise<CommandResult> {
    return host.run([...this.enter(ns), ...argv], { timeoutMs });
  }

  /** Like inNs, with text on stdin. */
  async run(ns: string, argv: readonly string[], input: string, timeoutMs = 30_000): Promise<CommandResult> {
    return host.run([...this.enter(ns), ...argv], { input, timeoutMs });
  }

  /** A veth pair between two lab namespaces, both ends up. */
  async link(nsA: string, nameA: string, nsB: string, nameB: string): Promise<void> {
    await this.must(['ip', '-n', nsA, 'link', 'add', nameA, 'type', 'veth', 'peer', 'name', nameB, 'netns', nsB]);
    await this.must(['ip', '-n', nsA, 'link', 'set', nameA, 'up']);
    await this.must(['ip', '-n', nsB, 'link', 'set', nameB, 'up']);
  }

  /** A long-running process inside a namespace; destroy() kills it by PID. */
  spawn(ns: string, argv: readonly string[]): ChildProcess {
    const all = [...this.enter(ns), ...argv];
    const child = spawn(all[0]!, all.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(child);
    return child;
  }

  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }

  async destroy(): Promise<void> {
    for (const child of this.#children) await this.stop(child);
    // Deleting a namespace deletes the veths inside it (and so their peers).
    for (const ns of this.#namespaces.reverse()) await this.sh(['ip', 'netns', 'del', ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits for a condition, failing with what never happened. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`within ${ms} ms, never: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
