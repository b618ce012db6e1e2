/**
 * `bosun node-setup` (hidden; install.sh's building blocks): the files a node's runtime needs,
 * rendered by the same code the sandbox uses — containerd's CRI configuration —
 * plus the locally built images (pause, busybox) imported into containerd, the host's cgroup
 * driver, and this node's pod subnet once the control plane has given it one.
 */
import type { CommandModule } from 'yargs';
import { CliError } from './exit.ts';

const containerdConfig: CommandModule<
  object,
  {
    config: string;
    root: string;
    state: string;
    socket: string;
    'cni-conf-dir': string;
    'cgroup-driver': 'cgroupfs' | 'systemd';
  }
> = {
  command: 'containerd-config',
  describe: "Write containerd's configuration for bosun (CRI, local pause image, CNI folders, cgroup driver)",
  builder: (y) =>
    y
      .option('config', { type: 'string', default: '/etc/containerd/config.toml' })
      .option('root', { type: 'string', default: '/var/lib/containerd' })
      .option('state', { type: 'string', default: '/run/containerd' })
      .option('socket', { type: 'string', default: '/run/containerd/containerd.sock' })
      .option('cni-conf-dir', { type: 'string', default: '/etc/cni/net.d' })
      .option('cgroup-driver', {
        type: 'string',
        choices: ['cgroupfs', 'systemd'] as const,
        default: 'cgroupfs' as const,
      }),
  handler: async (args) => {
    const { writeHostContainerdConfig } = await import('../host/node-setup/containerd-setup.ts');
    writeHostContainerdConfig({
      config: args.config,
      root: args.root,
      state: args.state,
      socket: args.socket,
      cniConfDir: args['cni-conf-dir'],
      cgroupDriver: args['cgroup-driver'],
    });
  },
};

const images: CommandModule<object, { address: string; 'cache-dir': string }> = {
  command: 'images',
  describe: "Build the pause and busybox images from this host's static binaries and import them into containerd",
  builder: (y) =>
    y
      .option('address', {
        type: 'string',
        default: '/run/containerd/containerd.sock',
        describe: "containerd's socket",
      })
      .option('cache-dir', { type: 'string', default: '/var/cache/bosun/images' }),
  handler: async (args) => {
    const { importLocalImages } = await import('../host/node-setup/containerd-setup.ts');
    await firstLineOnFailure(importLocalImages(args.address, args['cache-dir']));
  },
};

/** A host step's failure as the one line the user reads (its first line, exit 1). */
async function firstLineOnFailure<T>(step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (err) {
    throw new CliError((err as Error).message.split('\n')[0]!);
  }
}

const cgroupDriver: CommandModule = {
  command: 'cgroup-driver',
  describe: 'Print the cgroup driver for this host (systemd on cgroup v2 with systemd, else cgroupfs)',
  handler: async () => {
    // the agent's own rule (with --cgroup-driver auto), so containerd and the agent agree
    const { chooseCgroupDriver, hostCgroupClues } = await import('../agent/pods/cgroup-driver.ts');
    process.stdout.write(`${chooseCgroupDriver({ fromRuntime: undefined, ...(await hostCgroupClues()) }).driver}\n`);
  },
};

const podCidr: CommandModule<object, { kubeconfig: string; 'node-name': string; timeout: number }> = {
  command: 'pod-cidr',
  describe: 'Wait until the control plane has given this node a pod subnet, and print it',
  builder: (y) =>
    y
      .option('kubeconfig', { type: 'string', default: '/etc/bosun/agent.kubeconfig' })
      .option('node-name', { type: 'string', demandOption: true })
      .option('timeout', { type: 'number', default: 120, describe: 'seconds' }),
  handler: async (args) => {
    const cidr = await nodeField(
      args,
      `node ${args['node-name']} given a pod subnet (spec.podCIDR); is the control plane running its controllers?`,
      'podCIDR',
    );
    process.stdout.write(`${cidr}\n`);
  },
};

const containerdStart: CommandModule<object, { config: string; socket: string; log: string; 'pid-file': string }> = {
  command: 'containerd-start',
  describe: 'Start containerd detached (for hosts without systemd), unless it already runs; wait until it answers',
  builder: (y) =>
    y
      .option('config', { type: 'string', default: '/etc/containerd/config.toml' })
      .option('socket', { type: 'string', default: '/run/containerd/containerd.sock' })
      .option('log', { type: 'string', default: '/var/log/bosun/containerd.log' })
      .option('pid-file', { type: 'string', default: '/run/bosun/containerd.pid' }),
  handler: async (args) => {
    const { startDetachedContainerd } = await import('../host/node-setup/containerd-setup.ts');
    const started = await firstLineOnFailure(
      startDetachedContainerd({ config: args.config, socket: args.socket, log: args.log, pidFile: args['pid-file'] }),
    );
    process.stderr.write(
      started.alreadyRunning
        ? `containerd already runs (pid ${started.pid})\n`
        : `containerd runs detached (pid ${started.pid}, log ${args.log})\n`,
    );
  },
};

const containerdStop: CommandModule<object, { config: string; 'pid-file': string }> = {
  command: 'containerd-stop',
  describe: 'Stop the containerd that containerd-start started (by its PID file)',
  builder: (y) =>
    y
      .option('config', { type: 'string', default: '/etc/containerd/config.toml' })
      .option('pid-file', { type: 'string', default: '/run/bosun/containerd.pid' }),
  handler: async (args) => {
    const { stopDetachedContainerd } = await import('../host/node-setup/containerd-setup.ts');
    await stopDetachedContainerd(args.config, args['pid-file']);
  },
};

const waitReady: CommandModule<object, { kubeconfig: string; 'node-name': string; timeout: number }> = {
  command: 'wait-ready',
  describe: 'Wait until this node is Ready',
  builder: (y) =>
    y
      .option('kubeconfig', { type: 'string', default: '/etc/bosun/agent.kubeconfig' })
      .option('node-name', { type: 'string', demandOption: true })
      .option('timeout', { type: 'number', default: 180, describe: 'seconds' }),
  handler: async (args) => {
    await nodeField(args, `node ${args['node-name']} Ready`, 'ready');
  },
};

const restartDaemons: CommandModule<object, { 'run-dir': string; 'log-dir': string }> = {
  command: 'restart-daemons',
  describe: "Restart this machine's bosun server, then its agent, on the installed build (install.sh upgrade)",
  builder: (y) =>
    y
      .option('run-dir', { type: 'string', default: '/run/bosun' })
      .option('log-dir', { type: 'string', default: '/var/log/bosun' }),
  handler: async (args) => {
    const { restartDaemon } = await import('../host/upgrade/restart-daemons.ts');
    const { systemdRunsMachine } = await import('../host/init/daemons.ts');
    const options = {
      runDir: args['run-dir'],
      logDir: args['log-dir'],
      systemd: systemdRunsMachine(),
      say: (line: string) => process.stderr.write(`[upgrade] ${line}\n`),
    };
    // upstream's order: the API server first, so a node agent is never newer than its server
    for (const name of ['server', 'agent'] as const) {
      if ((await firstLineOnFailure(restartDaemon(name, options))) === 'absent')
        options.say(`no bosun ${name} runs on this machine`);
    }
  },
};

/** Waits on this node's object; a timeout is the one line the user reads. */
async function nodeField(
  args: { kubeconfig: string; 'node-name': string; timeout: number },
  what: string,
  pick: 'podCIDR' | 'ready',
): Promise<string> {
  const { waitNodeField, podCIDROf, readyOf } = await import('../host/node-setup/node-wait.ts');
  return firstLineOnFailure(
    waitNodeField(
      args.kubeconfig,
      args['node-name'],
      args.timeout * 1000,
      what,
      pick === 'ready' ? readyOf : podCIDROf,
    ),
  );
}

export const nodeSetupCommand: CommandModule = {
  command: 'node-setup <what>',
  describe: false,
  builder: (y) =>
    y
      .command(containerdConfig)
      .command(images)
      .command(cgroupDriver)
      .command(podCidr)
      .command(waitReady)
      .command(containerdStart)
      .command(containerdStop)
      .command(restartDaemons)
      .demandCommand(1),
  handler: () => undefined,
};
