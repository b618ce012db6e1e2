/**
 * systemd-logind, the seam graceful node shutdown needs: a "delay" inhibitor lock on shutdown (so
 * systemd waits up to logind's InhibitDelayMaxSec for us) and the PrepareForShutdown(true) signal.
 * Both through logind's own tools (systemd-inhibit, busctl) as child processes: no D-Bus library.
 * Where logind does not run (containers, machines without systemd), available() is false and the
 * agent says so and does nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Logind {
  available(): boolean;
  /** Takes the delay lock; the returned function releases it (idempotent). */
  inhibitShutdown(why: string): () => void;
  /** Calls `onShutdown` when logind announces an imminent shutdown; returns a function that stops watching. */
  watchShutdown(onShutdown: () => void): () => void;
}

const stop = (child: ChildProcess) => () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
};

/** Whether a busctl --json=short line is PrepareForShutdown(true). */
export function isPrepareForShutdown(line: string): boolean {
  try {
    const message = JSON.parse(line) as { member?: string; payload?: { data?: unknown[] } };
    return message.member === 'PrepareForShutdown' && message.payload?.data?.[0] === true;
  } catch {
    return false;
  }
}

export const systemLogind: Logind = {
  // logind keeps its seat state here while it runs
  available: () =>
    existsSync('/run/systemd/seats') && existsSync('/usr/bin/systemd-inhibit') && existsSync('/usr/bin/busctl'),
  inhibitShutdown(why) {
    const child = spawn(
      'systemd-inhibit',
      ['--what=shutdown', '--mode=delay', '--who=bosun agent', `--why=${why}`, 'sleep', 'infinity'],
      { stdio: 'ignore' },
    );
    child.on('error', () => undefined);
    return stop(child);
  },
  watchShutdown(onShutdown) {
    const child = spawn(
      'busctl',
      [
        '--system',
        'monitor',
        '--json=short',
        '--match',
        "type='signal',sender='org.freedesktop.login1',interface='org.freedesktop.login1.Manager',member='PrepareForShutdown'",
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    child.on('error', () => undefined);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (isPrepareForShutdown(line)) onShutdown();
    });
    return stop(child);
  },
};
