/**
 * Starting `bosun server` for `bosun init` and `bosun up`: through its unit where systemd runs the
 * machine, otherwise detached with a PID file and a log, and saying so; then waiting until the API
 * server answers /readyz. A server that already runs (same data folder) is reused.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from '../process/run.ts';
import { isOurs, startDaemon } from '../process/process.ts';
import { waitFor } from '../process/wait.ts';
import { readyz } from './readyz.ts';
import { daemonState, systemdRunsMachine, type DaemonPlace } from './daemons.ts';

const bosunBin = join(import.meta.dirname, '..', '..', 'bin', 'bosun');

interface ServerStart {
  place: DaemonPlace;
  /** `bosun server` flags (the data folder among them). */
  args: readonly string[];
  dataDir: string;
  port: number;
  /** Where systemd's unit reads BOSUN_SERVER_ARGS from. */
  environmentFile: string;
  say: (line: string) => void;
  timeoutMs?: number;
}

export async function startServerDaemon(options: ServerStart): Promise<void> {
  const { place, say } = options;
  const state = await daemonState(place);
  let pid: number | undefined;
  if (state !== undefined) {
    say(
      state.how === 'unit'
        ? `${place.unit} already runs; using it`
        : `bosun server already runs (pid ${state.pid}); using it`,
    );
    if (state.how === 'detached') pid = state.pid;
  } else if (systemdRunsMachine()) {
    mkdirSync(dirname(options.environmentFile), { recursive: true });
    writeFileSync(options.environmentFile, `BOSUN_SERVER_ARGS="${options.args.join(' ')}"\n`);
    const started = await run(['systemctl', 'enable', '--now', place.unit], { timeoutMs: 180_000 });
    if (started.code !== 0)
      throw new Error(
        `systemctl could not start ${place.unit}: ${started.stderr.trim() || 'see journalctl -u bosun-server'} (install.sh installs the unit)`,
      );
    say(`started ${place.unit}`);
  } else {
    mkdirSync(dirname(place.log), { recursive: true });
    mkdirSync(dirname(place.pidFile), { recursive: true });
    pid = startDaemon({ argv: [bosunBin, 'server', ...options.args], log: place.log });
    writeFileSync(place.pidFile, `${pid}\n`);
    say(`systemd is not running this machine: bosun server runs detached (pid ${pid}, log ${place.log})`);
  }
  const caPath = join(options.dataDir, 'pki', 'ca.crt');
  const timeoutMs = options.timeoutMs ?? 120_000;
  try {
    await waitFor(
      async () => {
        if (pid !== undefined && !isOurs(pid, place.marker)) throw new Error('it exited');
        return existsSync(caPath) && (await readyz(options.port, readFileSync(caPath)));
      },
      { what: 'the API server ready', timeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    const where = pid === undefined ? 'journalctl -u bosun-server' : place.log;
    const detail = /it exited/.test((err as Error).message)
      ? 'exited while starting'
      : `was not ready within ${timeoutMs / 1000} s`;
    throw new Error(`bosun server ${detail}: see ${where}`);
  }
}
