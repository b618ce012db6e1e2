/**
 * Restarting bosun's daemons on the new build after an upgrade, in upstream's order: the server
 * first (a node agent must never be newer than its API server), then the agent, each only once the
 * one before it is ready again. systemd restarts its units; detached daemons are stopped by PID
 * (SIGTERM: the agent leaves every container running, to be adopted by the new agent) and started
 * again with the arguments they ran with.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readyz } from '../init/readyz.ts';
import { agentHealthy } from '../join/start-agent.ts';
import { alive, startDaemon, stopDaemon } from '../process/process.ts';
import { run } from '../process/run.ts';
import { waitFor } from '../process/wait.ts';
import { daemonArgs, flagIn } from './daemon-command-line.ts';

const bosunBin = join(import.meta.dirname, '..', '..', 'bin', 'bosun');

export interface RestartOptions {
  runDir: string;
  logDir: string;
  /** systemd runs the machine: restart units instead of PID files. */
  systemd: boolean;
  say(line: string): void;
  readyTimeoutMs?: number;
}

/** Ready as each daemon says it: the server's /readyz with the cluster CA, the agent's /healthz. */
async function ready(name: 'server' | 'agent', args: readonly string[]): Promise<boolean> {
  if (name === 'server') {
    const ca = join(flagIn(args, 'data-dir') ?? '/var/lib/bosun/server', 'pki', 'ca.crt');
    return existsSync(ca) && readyz(Number(flagIn(args, 'secure-port') ?? 6443), readFileSync(ca));
  }
  const port = Number(flagIn(args, 'healthz-port') ?? 10248);
  return port === 0 ? true : agentHealthy(port);
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

async function unitPid(unit: string): Promise<number | undefined> {
  const shown = await run(['systemctl', 'show', '-p', 'MainPID', '--value', unit], { timeoutMs: 10_000 });
  const pid = Number(shown.stdout.trim());
  return shown.code === 0 && pid > 0 ? pid : undefined;
}

/** Restarts one daemon if it runs here; says what it did. `absent`: it does not run on this machine. */
export async function restartDaemon(
  name: 'server' | 'agent',
  options: RestartOptions,
): Promise<'restarted' | 'absent'> {
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  if (options.systemd) {
    const unit = `bosun-${name}.service`;
    const active = await run(['systemctl', 'is-active', '--quiet', unit], { timeoutMs: 10_000 });
    if (active.code !== 0) return 'absent';
    const restarted = await run(['systemctl', 'restart', unit], { timeoutMs: timeoutMs + 30_000 });
    if (restarted.code !== 0) throw new Error(`systemctl restart ${unit} failed: ${restarted.stderr.trim()}`);
    const pid = await unitPid(unit);
    const args = pid === undefined ? [] : (daemonArgs(cmdlineOf(pid) ?? '')?.args ?? []);
    await waitFor(() => ready(name, args), { what: `${unit} ready again`, timeoutMs, intervalMs: 250 });
    options.say(`${unit} restarted on the new build`);
    return 'restarted';
  }
  const pidFile = join(options.runDir, `${name}.pid`);
  if (!existsSync(pidFile)) return 'absent';
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const running = Number.isInteger(pid) && pid > 0 ? daemonArgs(cmdlineOf(pid) ?? '') : undefined;
  if (running === undefined || running.name !== name) return 'absent';
  // the marker is the daemon's command on its command line: never another process that reused the PID
  await stopDaemon(pid, `main.ts ${name}`, 30_000);
  const log = join(options.logDir, `${name}.log`);
  const started = startDaemon({ argv: [bosunBin, name, ...running.args], log });
  writeFileSync(pidFile, `${started}\n`);
  await waitFor(
    async () => {
      if (!alive(started)) throw new Error(`bosun ${name} exited while starting on the new build: see ${log}`);
      return ready(name, running.args);
    },
    { what: `bosun ${name} ready again (log ${log})`, timeoutMs, intervalMs: 250 },
  );
  options.say(`bosun ${name} restarted on the new build (pid ${started})`);
  return 'restarted';
}
