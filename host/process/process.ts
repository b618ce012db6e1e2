/**
 * Daemons of a sandbox (containerd, the server, agents, relays): started detached so they outlive
 * the command that started them, each with a log file and a recorded PID; stopped by that PID only,
 * after checking that the PID still runs what we started (a PID can be reused).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface DaemonSpec {
  argv: readonly string[];
  /** Network namespace (a name in /run/netns) to run in; the host's when absent. */
  netns?: string | undefined;
  log: string;
  env?: Record<string, string>;
}

export function inNetns(netns: string | undefined, argv: readonly string[]): string[] {
  return netns === undefined ? [...argv] : ['nsenter', `--net=/run/netns/${netns}`, '--', ...argv];
}

/** Starts the daemon in its own session; returns its PID (nsenter execs the command, so the PID is the daemon's). */
export function startDaemon(spec: DaemonSpec): number {
  const [command, ...args] = inNetns(spec.netns, spec.argv);
  const logFd = openSync(spec.log, 'a');
  try {
    const child = spawn(command!, args, {
      stdio: ['ignore', logFd, logFd],
      detached: true,
      env: { ...process.env, ...spec.env },
    });
    if (child.pid === undefined) throw new Error(`cannot start ${spec.argv.join(' ')}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(logFd);
  }
}

function processState(pid: number): string | undefined {
  try {
    // the state letter follows the command name in parentheses, which may itself contain spaces
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True while `pid` runs and its command line contains `marker` (so a reused PID is not ours). */
export function isOurs(pid: number, marker: string): boolean {
  const state = processState(pid);
  if (state === undefined || state === 'Z' || state === 'X') return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(marker);
  } catch {
    return false;
  }
}

/** True while the process runs (a zombie waiting to be reaped does not count). */
export function alive(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return !alive(pid);
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Does nothing when the
 * PID no longer runs a command containing `marker`.
 */
export async function stopDaemon(pid: number, marker: string, graceMs = 5_000): Promise<void> {
  if (!isOurs(pid, marker)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitGone(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitGone(pid, 5_000);
}

/** SIGKILL at once (fault injection); resolves once the process is gone. */
export async function killDaemon(pid: number, marker: string): Promise<void> {
  if (!isOurs(pid, marker)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitGone(pid, 5_000);
}
