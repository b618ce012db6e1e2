/**
 * bosun's own daemons on a machine (the server, the agent): run by systemd where it runs the
 * machine (units from systemd/), otherwise detached with a PID file under the run folder and a log
 * under the log folder. A PID file's process counts as ours only while its command line still holds
 * the daemon's marker (a PID can be reused).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isOurs, stopDaemon } from '../process/process.ts';
import { run } from '../process/run.ts';

type DaemonName = 'server' | 'agent';

export interface DaemonPlace {
  name: DaemonName;
  unit: string;
  pidFile: string;
  log: string;
  /** Text in the daemon's command line that only this daemon has (its data folder or kubeconfig). */
  marker: string;
}

export function daemonPlace(name: DaemonName, dirs: { runDir: string; logDir: string }, marker: string): DaemonPlace {
  return {
    name,
    unit: `bosun-${name}.service`,
    pidFile: join(dirs.runDir, `${name}.pid`),
    log: join(dirs.logDir, `${name}.log`),
    marker,
  };
}

/** True when systemd is PID 1 (the test systemd itself uses). */
export function systemdRunsMachine(): boolean {
  return existsSync('/run/systemd/system');
}

/** The PID of the detached daemon, while it runs. */
function detachedPid(place: DaemonPlace): number | undefined {
  if (!existsSync(place.pidFile)) return undefined;
  const pid = Number(readFileSync(place.pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isOurs(pid, place.marker) ? pid : undefined;
}

async function unitActive(unit: string): Promise<boolean> {
  return (await run(['systemctl', 'is-active', '--quiet', unit], { timeoutMs: 10_000 })).code === 0;
}

/** Whether the daemon runs, and how. */
export async function daemonState(
  place: DaemonPlace,
): Promise<{ how: 'unit' } | { how: 'detached'; pid: number } | undefined> {
  if (systemdRunsMachine() && (await unitActive(place.unit))) return { how: 'unit' };
  const pid = detachedPid(place);
  return pid === undefined ? undefined : { how: 'detached', pid };
}

/** Stops and disables the unit, or SIGTERMs the detached process (SIGKILL after `graceMs`); removes the PID file. */
export async function stopBosunDaemon(place: DaemonPlace, graceMs = 15_000): Promise<string | undefined> {
  let what: string | undefined;
  if (systemdRunsMachine() && (await unitActive(place.unit))) {
    const stopped = await run(['systemctl', 'disable', '--now', place.unit], { timeoutMs: 120_000 });
    if (stopped.code !== 0) throw new Error(`systemctl disable --now ${place.unit}: ${stopped.stderr.trim()}`);
    what = `${place.unit} stopped and disabled`;
  }
  const pid = detachedPid(place);
  if (pid !== undefined) {
    await stopDaemon(pid, place.marker, graceMs);
    what = `bosun ${place.name} (pid ${pid}) stopped`;
  }
  rmSync(place.pidFile, { force: true });
  return what;
}
