/**
 * logind's InhibitDelayMaxSec caps how long a delay lock holds a shutdown back (5 s by default):
 * with a longer --shutdown-grace-period, systemd would power off while pods still stop. As the
 * kubelet does, the agent raises the cap when it is short: it writes a logind drop-in
 * (/etc/systemd/logind.conf.d/99-bosun.conf), tells logind to reload (SIGHUP), and reads the value
 * back; a cap still short afterwards (another drop-in sorts later and wins) is reported, not fatal.
 * `install.sh uninstall` removes the drop-in.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

const logindDropIn = '/etc/systemd/logind.conf.d/99-bosun.conf';

export interface InhibitDelay {
  /** logind's current InhibitDelayMaxSec, in seconds; undefined when it cannot be read. */
  maxSeconds(): Promise<number | undefined>;
  /** Writes the drop-in with this cap and makes logind reload its configuration. */
  raiseTo(seconds: number): Promise<void>;
}

/** The drop-in's text for a cap of `seconds`. */
export function logindDropInText(seconds: number): string {
  return `# written by bosun agent: its --shutdown-grace-period needs logind to wait this long\n[Login]\nInhibitDelayMaxSec=${seconds}\n`;
}

/** The value of busctl's `get-property ... InhibitDelayMaxUSec` line ("t 5000000") in seconds. */
export function parseInhibitDelayUsec(line: string): number | undefined {
  const match = /^t (\d+)\s*$/.exec(line.trim());
  return match ? Number(match[1]) / 1_000_000 : undefined;
}

export const systemInhibitDelay: InhibitDelay = {
  async maxSeconds() {
    const property = ['org.freedesktop.login1', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager'];
    const result = await exec('busctl', ['get-property', ...property, 'InhibitDelayMaxUSec'], {
      timeout: 10_000,
    }).catch(() => undefined);
    return result === undefined ? undefined : parseInhibitDelayUsec(result.stdout);
  },
  async raiseTo(seconds) {
    await mkdir(dirname(logindDropIn), { recursive: true });
    await writeFile(logindDropIn, logindDropInText(seconds));
    // logind re-reads logind.conf and its drop-ins on SIGHUP
    await exec('systemctl', ['kill', '--signal=SIGHUP', 'systemd-logind.service'], { timeout: 10_000 });
  },
};
