/**
 * Starting the node agent after a join: through systemd where it runs the machine (the unit from
 * systemd/), otherwise as a detached process with a PID file and a log under /var/log/bosun, and
 * saying so. Either way, join returns once the agent's local health endpoint answers.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { run } from '../process/run.ts';
import { startDaemon } from '../process/process.ts';
import { waitFor } from '../process/wait.ts';
import { JoinError } from './errors.ts';

const bosunBin = join(import.meta.dirname, '..', '..', 'bin', 'bosun');

/** Whether the agent answers on its 127.0.0.1 health port (the kubelet's 10248 by default). */
export function agentHealthy(port = 10248): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export interface AgentStart {
  kubeconfigPath: string;
  nodeName: string;
  runtimeEndpoint: string;
  extraArgs: readonly string[];
  logDir: string;
  runDir: string;
}

/** The agent's command line after a join (also what a sandbox uses to start it again). */
export function agentArgv(options: AgentStart): string[] {
  return [
    bosunBin,
    'agent',
    '--kubeconfig',
    options.kubeconfigPath,
    '--node-name',
    options.nodeName,
    '--container-runtime-endpoint',
    options.runtimeEndpoint,
    ...options.extraArgs,
  ];
}

export async function startAgent(options: AgentStart): Promise<void> {
  const argv = agentArgv(options);
  const args = argv.slice(2);
  const log = join(options.logDir, 'agent.log');
  if (existsSync('/run/systemd/system')) {
    writeFileSync('/etc/default/bosun-agent', `BOSUN_AGENT_ARGS="${args.join(' ')}"\n`);
    const started = await run(['systemctl', 'enable', '--now', 'bosun-agent.service'], { timeoutMs: 120_000 });
    if (started.code !== 0)
      throw new JoinError('JOIN_AGENT', `systemctl could not start bosun-agent: ${started.stderr.trim()}`);
  } else {
    mkdirSync(options.logDir, { recursive: true });
    mkdirSync(options.runDir, { recursive: true });
    const pid = startDaemon({ argv, log });
    writeFileSync(join(options.runDir, 'agent.pid'), `${pid}\n`);
    process.stderr.write(
      `[join] systemd is not running this machine: the agent runs detached (pid ${pid}, log ${log})\n`,
    );
  }
  try {
    await waitFor(() => agentHealthy(), {
      what: 'the node agent answering on 127.0.0.1:10248/healthz',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  } catch {
    throw new JoinError(
      'JOIN_AGENT',
      `the node agent did not become healthy within 60 s: see ${log} (or journalctl -u bosun-agent)`,
    );
  }
  process.stderr.write('[join] the node agent is running\n');
}
