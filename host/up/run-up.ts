/**
 * `bosun up`, as a script: `bosun server` as a child → /readyz → admin kubeconfig and a token →
 * `bosun join --no-start` (the real join path: discovery, CA pin, TLS bootstrap) → `bosun agent` as
 * a child (which writes the CNI conflist once the node has a subnet) → Ready. Then it waits; on SIGINT/SIGTERM it stops the
 * agent and then the server. Containers keep running in containerd (the agent never owns them): the
 * next `bosun up` adopts them, `bosun reset` removes them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../process/run.ts';
import { waitFor } from '../process/wait.ts';
import { readyz } from '../init/readyz.ts';
import { withServerDefaults } from '../init/server-defaults.ts';
import { prepareJoin, serverFlags } from '../init/init-cluster.ts';
import { agentKubeconfig, agentRootDir, serverDataDir, type NodePaths } from '../init/node-paths.ts';
import { agentArgv } from '../join/start-agent.ts';
import { podCIDROf, readyOf, waitNodeField } from '../node-setup/node-wait.ts';

const bosunBin = join(import.meta.dirname, '..', '..', 'bin', 'bosun');

export interface UpSpec {
  paths: NodePaths;
  advertiseAddress: string;
  port: number;
  nodeName: string;
  runtimeEndpoint: string;
  cniConfDir: string;
  cniDataDir: string;
  podLogDir: string;
  cgroupDriver: string;
  serverArgs: readonly string[];
  agentArgs: readonly string[];
  say: (line: string) => void;
  /** Resolves when the user asks to stop. */
  stopRequested: Promise<void>;
}

function startChild(argv: readonly string[], log: string): ChildProcess {
  const fd = openSync(log, 'a');
  try {
    return spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

function exited(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(`exited (${child.exitCode ?? child.signalCode})`);
    else child.once('exit', (code, signal) => resolve(`exited (${code ?? signal})`));
  });
}

async function stopChild(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Fails as soon as `child` exits, with where to look. */
function watchChild(child: ChildProcess, name: string, log: string): Promise<never> {
  return exited(child).then((how) => {
    throw new Error(`bosun ${name} ${how}; see ${log}`);
  });
}

export async function runUp(spec: UpSpec): Promise<void> {
  const { paths, say } = spec;
  mkdirSync(paths.logDir, { recursive: true });
  const serverLog = join(paths.logDir, 'server.log');
  const agentLog = join(paths.logDir, 'agent.log');
  let server: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  try {
    server = startChild(
      [
        bosunBin,
        'server',
        ...serverFlags({
          paths,
          advertiseAddress: spec.advertiseAddress,
          bindAddress: '0.0.0.0',
          port: spec.port,
          serverArgs: withServerDefaults(paths, spec.serverArgs),
        }),
      ],
      serverLog,
    );
    say(`bosun server started (pid ${server.pid}, log ${serverLog})`);
    const serverDied = watchChild(server, 'server', serverLog);
    serverDied.catch(() => undefined);
    const caPath = join(serverDataDir(paths), 'pki', 'ca.crt');
    await Promise.race([
      serverDied,
      waitFor(async () => existsSync(caPath) && (await readyz(spec.port, readFileSync(caPath))), {
        what: 'the API server ready',
        timeoutMs: 120_000,
        intervalMs: 200,
      }),
    ]);
    const kubeconfig = agentKubeconfig(paths);
    const joined = await prepareJoin(paths, 3600, say);
    if (existsSync(kubeconfig)) {
      say(`${kubeconfig} exists: this node joined before; using it`);
    } else {
      const join_ = await run(
        [
          bosunBin,
          'join',
          joined.server,
          '--token',
          joined.token,
          '--discovery-token-ca-cert-hash',
          joined.caHash,
          '--no-start',
          '--node-name',
          spec.nodeName,
          '--config-dir',
          paths.configDir,
          '--container-runtime-endpoint',
          spec.runtimeEndpoint,
        ],
        { timeoutMs: 180_000 },
      );
      if (join_.code !== 0)
        throw new Error(
          `bosun join failed: ${join_.stderr
            .trim()
            .split('\n')
            .pop()
            ?.replace(/^bosun: /, '')}`,
        );
      say(`node ${spec.nodeName} joined through bosun join`);
    }
    const extra = [
      `--root-dir=${agentRootDir(paths)}`,
      `--pod-log-dir=${spec.podLogDir}`,
      `--cgroup-driver=${spec.cgroupDriver}`,
      `--node-ip=${spec.advertiseAddress}`,
      `--pod-manifest-path=${join(paths.configDir, 'manifests')}`,
      `--cni-conf-dir=${spec.cniConfDir}`,
      `--cni-data-dir=${spec.cniDataDir}`,
      ...spec.agentArgs,
    ];
    agent = startChild(
      agentArgv({
        kubeconfigPath: kubeconfig,
        nodeName: spec.nodeName,
        runtimeEndpoint: spec.runtimeEndpoint,
        extraArgs: extra,
        logDir: paths.logDir,
        runDir: paths.runDir,
      }),
      agentLog,
    );
    say(`bosun agent started (pid ${agent.pid}, log ${agentLog})`);
    const agentDied = watchChild(agent, 'agent', agentLog);
    agentDied.catch(() => undefined);
    const died = Promise.race([serverDied, agentDied]);
    const cidr = await Promise.race([
      died,
      waitNodeField(kubeconfig, spec.nodeName, 120_000, `node ${spec.nodeName} given a pod subnet`, podCIDROf),
    ]);
    await Promise.race([
      died,
      waitNodeField(kubeconfig, spec.nodeName, 180_000, `node ${spec.nodeName} Ready`, readyOf),
    ]);
    say(
      `node ${spec.nodeName} is Ready (pod subnet ${cidr}). In another shell: export KUBECONFIG=${joined.adminKubeconfig}; kubectl get nodes`,
    );
    say(
      'Ctrl-C stops the agent and the server; pods keep running in containerd (the next bosun up adopts them, bosun reset removes them)',
    );
    const stop = await Promise.race([spec.stopRequested.then(() => 'stop'), died]);
    say(`${stop === 'stop' ? 'stopping' : 'a daemon exited'}: agent, then server`);
  } finally {
    await stopChild(agent, 30_000);
    await stopChild(server, 30_000);
  }
}
