/**
 * `bosun reset`: undo `bosun init` / `bosun join` on this machine — stop the agent (and the server,
 * where this machine runs one), remove bosun's pods through CRI, delete bosun's iptables chains,
 * the CNI state and bosun's files. The Node object stays in the cluster: delete it with kubectl.
 */
import type { CommandModule } from 'yargs';
import { createInterface } from 'node:readline/promises';
import { CliError, ExitCode } from './exit.ts';
import { cgroupRootProblem } from '../agent/pods/pod-cgroups.ts';
import {
  adminKubeconfig,
  agentKubeconfig,
  agentRootDir,
  nodePathOptions,
  nodePathsFrom,
  serverDataDir,
  type NodePathArgs,
} from '../host/init/node-paths.ts';

interface ResetArgs extends NodePathArgs {
  'container-runtime-endpoint': string;
  'cni-conf-dir': string;
  'pod-log-dir': string;
  'cgroup-root': string;
  force: boolean;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export const resetCommand: CommandModule<object, ResetArgs> = {
  command: 'reset',
  describe: "Undo init/join on this machine: stop bosun's daemons, remove its pods, rules, CNI state and files",
  builder: (y) =>
    y
      .options(nodePathOptions)
      .option('container-runtime-endpoint', {
        type: 'string',
        default: 'unix:///run/containerd/containerd.sock',
        describe: 'CRI endpoint of containerd',
      })
      .option('cni-conf-dir', {
        type: 'string',
        default: '/etc/cni/net.d',
        describe: "Where bosun's CNI configuration (10-bosun.conflist) is",
      })
      .option('pod-log-dir', { type: 'string', default: '/var/log/pods', describe: 'Where container logs are' })
      .option('cgroup-root', {
        type: 'string',
        default: '/',
        describe: "The agent's --cgroup-root: its pods' cgroups under <cgroup-root>/kubepods are removed",
      })
      .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'Do it without asking' }),
  handler: async (args) => {
    const cgroupProblem = cgroupRootProblem(args['cgroup-root']);
    if (cgroupProblem !== undefined)
      throw new CliError(`--cgroup-root ${JSON.stringify(args['cgroup-root'])} ${cgroupProblem}`, ExitCode.usage);
    if (process.getuid?.() !== 0)
      throw new CliError('bosun reset needs root (it stops daemons, removes pods and iptables rules)');
    const paths = nodePathsFrom(args);
    if (!args.force) {
      const what = `bosun reset stops bosun's agent and server on this machine and removes its pods, iptables chains, CNI state and ${[agentKubeconfig(paths), adminKubeconfig(paths), agentRootDir(paths), serverDataDir(paths)].join(', ')}`;
      if (!process.stdin.isTTY) throw new CliError(`${what}; pass --force to do it without asking`);
      if (!(await confirm(`${what}.\nContinue? [y/N] `))) throw new CliError('reset cancelled; nothing was changed');
    }
    const { resetNode } = await import('../host/reset/reset-node.ts');
    const problems = await resetNode({
      paths,
      runtimeEndpoint: args['container-runtime-endpoint'],
      cniConfDir: args['cni-conf-dir'],
      podLogDir: args['pod-log-dir'],
      cgroupRoot: args['cgroup-root'],
      say: (line) => process.stderr.write(`[reset] ${line}\n`),
    });
    if (problems.length > 0)
      throw new CliError(`reset incomplete: ${problems.join('; ')}; fix that and run bosun reset again`);
    process.stderr.write(
      '[reset] done; the Node object is left in the cluster: kubectl delete node <name> on the control plane\n',
    );
  },
};
