/**
 * Starting the node agent after a join: through systemd where it runs the machine (the unit from
 * systemd/), otherwise as a detached process with a PID file and a log under /var/log/bosun, and
 * saying so. Either way, join returns once the agent's local health endpoint answers.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { run } from '../sandbox/run.ts';
import { startDaemon } from '../sandbox/process.ts';
import { waitFor } from '../sandbox/wait.ts';
import { JoinError } from './errors.ts';

const bosunBin = join(import.meta.dirname, '..', '..', 'bin', 'bosun');

function healthy(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port: 10248, path: '/healthz', timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

export async function startAgent(options: { kubeconfigPath: string; nodeName: string; runtimeEndpoint: string; extraArgs: readonly string[] }): Promise<void> {
  const args = ['--kubeconfig', options.kubeconfigPath, '--node-name', options.nodeName, '--container-runtime-endpoint', options.runtimeEndpoint, ...options.extraArgs];
  if (existsSync('/run/systemd/system')) {
    writeFileSync('/etc/default/bosun-agent', `BOSUN_AGENT_ARGS="${args.join(' ')}"\n`);
    const started = await run(['systemctl', 'enable', '--now', 'bosun-agent.service'], { timeoutMs: 120_000 });
    if (started.code !== 0) throw new JoinError('JOIN_AGENT', `systemctl could not start bosun-agent: ${started.stderr.trim()}`);
  } else {
    mkdirSync('/var/log/bosun', { recursive: true });
    mkdirSync('/run/bosun', { recursive: true });
    const pid = startDaemon({ argv: [bosunBin, 'agent', ...args], log: '/var/log/bosun/agent.log' });
    writeFileSync('/run/bosun/agent.pid', `${pid}\n`);
    process.stderr.write(`[join] systemd is not running this machine: the agent runs detached (pid ${pid}, log /var/log/bosun/agent.log)\n`);
  }
  try {
    await waitFor(healthy, { what: 'the node agent answering on 127.0.0.1:10248/healthz', timeoutMs: 60_000, intervalMs: 200 });
  } catch {
    throw new JoinError('JOIN_AGENT', 'the node agent did not become healthy within 60 s: see /var/log/bosun/agent.log (or journalctl -u bosun-agent)');
  }
  process.stderr.write('[join] the node agent is running\n');
}
