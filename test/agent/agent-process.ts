/**
 * `bosun agent` as a child process of the test, inside a sandbox node's network namespace (as it
 * runs on a real node): started with the node's containerd, pod log folder and the node-side
 * kubeconfig; stopped with SIGTERM or killed with SIGKILL by its PID. Its output goes to a file in
 * the node's folder, and `ready()` waits for the log line the agent writes once it is ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { inNetns } from '../../host/process/process.ts';
import type { SandboxNode } from '../../sandbox/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';

const mainScript = join(import.meta.dirname, '..', '..', 'cli', 'main.ts');

interface AgentRun {
  child: ChildProcess;
  pid: number;
  /** Resolves once the process exited and its output was read to the end. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stderr of this run so far (the one-line errors of a failed start land here). */
  stderr(): string;
}

/** `base` with each `--flag value` pair of `extra` replacing the same flag (a repeated flag would become a list). */
function withOverrides(base: string[], extra: string[]): string[] {
  const out = [...base];
  for (let i = 0; i < extra.length; i += 2) {
    const at = out.indexOf(extra[i]!);
    if (at >= 0) out.splice(at, 2, extra[i]!, extra[i + 1]!);
    else out.push(extra[i]!, extra[i + 1]!);
  }
  return out;
}

export class AgentProcess {
  readonly node: SandboxNode;
  readonly kubeconfig: string;
  readonly logFile: string;
  readonly extraArgs: string[];
  #current: AgentRun | undefined;
  #log: WriteStream | undefined;
  starts = 0;
  /** The single executable to run instead of the source tree (scripts/build-executable.ts). */
  readonly #executable: string | undefined;

  constructor(node: SandboxNode, kubeconfig: string, extraArgs: string[] = [], options: { executable?: string } = {}) {
    this.node = node;
    this.kubeconfig = kubeconfig;
    this.logFile = join(node.stateDir, 'agent.log');
    this.extraArgs = extraArgs;
    this.#executable = options.executable;
  }

  args(): string[] {
    return [
      '--kubeconfig',
      this.kubeconfig,
      '--node-name',
      this.node.name,
      '--node-ip',
      this.node.ip,
      '--container-runtime-endpoint',
      this.node.criEndpoint,
      '--pod-log-dir',
      this.node.podLogDir,
      '--root-dir',
      join(this.node.stateDir, 'agent'),
      '--cluster-cidr',
      '10.244.0.0/16',
      '--cgroup-root',
      this.node.cgroupRoot,
      // the node's own CNI folders: the agent writes the conflist there, never into the host's
      '--cni-conf-dir',
      this.node.cniConfDir,
      '--cni-data-dir',
      this.node.cniDataDir,
      ...this.extraArgs,
    ];
  }

  /**
   * Starts the agent; a flag in `extra` replaces the same flag of args(). `nodeFlags` go to Node
   * itself (e.g. `--import` of a test's preload module).
   */
  start(extra: string[] = [], nodeFlags: readonly string[] = []): AgentRun {
    if (this.#current !== undefined) throw new Error('the agent already runs');
    this.#log ??= createWriteStream(this.logFile, { flags: 'a' });
    if (this.#executable !== undefined && nodeFlags.length > 0) {
      throw new Error('the single executable takes no Node flags on its command line');
    }
    const program =
      this.#executable === undefined
        ? [process.execPath, '--disable-warning=ExperimentalWarning', ...nodeFlags, mainScript]
        : [this.#executable];
    const [command, ...rest] = inNetns(this.node.netns, [...program, 'agent', ...withOverrides(this.args(), extra)]);
    // as bin/bosun runs it: with Node's compile cache, which also keeps the type-stripped sources
    // (without it every start strips types again, and the stripper stays in memory: ~17 MiB)
    const env = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? '/var/cache/bosun/node' };
    const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'], env });
    if (child.pid === undefined) throw new Error('the agent did not start');
    child.stdout!.pipe(this.#log, { end: false });
    child.stderr!.pipe(this.#log, { end: false });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    this.starts++;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      // 'close' comes after the output streams ended, so stderr() is complete by then
      child.once('close', (code, signal) => {
        if (this.#current?.child === child) this.#current = undefined;
        resolve({ code, signal });
      });
    });
    this.#current = { child, pid: child.pid, exited, stderr: () => stderr };
    return this.#current;
  }

  get running(): AgentRun | undefined {
    return this.#current;
  }

  /** Log lines of this node's agent (all runs), parsed. */
  lines(): { msg?: string; level?: number; [key: string]: unknown }[] {
    let text = '';
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string });
  }

  /** Waits until the current run logged 'agent ready' (the n-th one overall). */
  async ready(timeoutMs = 60_000): Promise<void> {
    const run = this.#current;
    if (run === undefined) throw new Error('the agent does not run');
    await waitFor(
      () => {
        if (this.#current !== run) throw new Error(`the agent exited before it was ready; see ${this.logFile}`);
        return this.lines().filter((l) => l.msg === 'agent ready').length >= this.starts;
      },
      { what: `bosun agent on ${this.node.name} ready (log ${this.logFile})`, timeoutMs, intervalMs: 100 },
    );
  }

  /** SIGKILL by PID; resolves once it exited. */
  async kill(): Promise<void> {
    const run = this.#current;
    if (run === undefined) return;
    process.kill(run.pid, 'SIGKILL');
    await run.exited;
  }

  /** SIGTERM by PID, SIGKILL after `graceMs`; resolves with how it ended. */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    const run = this.#current;
    if (run === undefined) return undefined;
    process.kill(run.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(run.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    const result = await run.exited;
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.#log?.end();
  }
}
