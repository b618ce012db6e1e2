/**
 * `bosun node-setup` (hidden; install.sh's building blocks): the files a node's runtime needs,
 * rendered by the same code the sandbox uses — containerd's CRI configuration, the CNI conflist —
 * plus the locally built images (pause, busybox) imported into containerd, the host's cgroup
 * driver, and this node's pod subnet once the control plane has given it one.
 */
import type { CommandModule } from 'yargs';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliError, ExitCode } from './exit.ts';

function writeAtomically(path: string, text: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}


const containerdConfig: CommandModule<object, { config: string; root: string; state: string; socket: string; 'cni-conf-dir': string; 'cgroup-driver': string }> = {
  command: 'containerd-config',
  describe: "Write containerd's configuration for bosun (CRI, local pause image, CNI folders, cgroup driver)",
  builder: (y) => y
    .option('config', { type: 'string', default: '/etc/containerd/config.toml' })
    .option('root', { type: 'string', default: '/var/lib/containerd' })
    .option('state', { type: 'string', default: '/run/containerd' })
    .option('socket', { type: 'string', default: '/run/containerd/containerd.sock' })
    .option('cni-conf-dir', { type: 'string', default: '/etc/cni/net.d' })
    .option('cgroup-driver', { type: 'string', choices: ['cgroupfs', 'systemd'], default: 'cgroupfs' }) as never,
  handler: async (args) => {
    const [{ renderContainerdConfig }, { pauseImageReference }] = await Promise.all([import('../host/node-setup/containerd.ts'), import('../agent/oci/local-images.ts')]);
    const confDir = dirname(args.config);
    const text = renderContainerdConfig({
      layout: {
        dir: confDir, root: args.root, state: args.state, socket: args.socket, config: args.config,
        cniConfDir: args['cni-conf-dir'], cniDataDir: '', registryConfigDir: join(confDir, 'certs.d'), log: '',
      },
      sandboxImage: pauseImageReference,
      podCIDR: '',
      networkName: 'bosun',
      cgroupDriver: args['cgroup-driver'] as 'cgroupfs' | 'systemd',
    });
    for (const dir of [args.root, args.state, args['cni-conf-dir'], join(confDir, 'certs.d')]) mkdirSync(dir, { recursive: true });
    writeAtomically(args.config, text);
  },
};

const cni: CommandModule<object, { 'cni-conf-dir': string; 'cni-data-dir': string; 'pod-cidr': string }> = {
  command: 'cni',
  describe: 'Write the CNI conflist (bridge + host-local + portmap) for this node\'s pod subnet',
  builder: (y) => y
    .option('cni-conf-dir', { type: 'string', default: '/etc/cni/net.d' })
    .option('cni-data-dir', { type: 'string', default: '/var/lib/cni/networks' })
    .option('pod-cidr', { type: 'string', demandOption: true }) as never,
  handler: async (args) => {
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(args['pod-cidr'])) throw new CliError(`--pod-cidr ${args['pod-cidr']} is not an IPv4 CIDR`, ExitCode.usage);
    const { writeCniConflist } = await import('../host/node-setup/cni-file.ts');
    writeCniConflist(args['cni-conf-dir'], args['cni-data-dir'], args['pod-cidr']);
  },
};

const images: CommandModule<object, { address: string; 'cache-dir': string }> = {
  command: 'images',
  describe: 'Build the pause and busybox images from this host\'s static binaries and import them into containerd',
  builder: (y) => y
    .option('address', { type: 'string', default: '/run/containerd/containerd.sock', describe: "containerd's socket" })
    .option('cache-dir', { type: 'string', default: '/var/cache/bosun/images' }) as never,
  handler: async (args) => {
    const [{ buildPauseImage, buildBusyboxImage }, { importImage }] = await Promise.all([import('../agent/oci/local-images.ts'), import('../host/node-setup/containerd.ts')]);
    // pause is what every pod needs; busybox (for trying things out) only where busybox-static is installed
    const builds = [buildPauseImage, ...(existsSync('/bin/busybox') ? [buildBusyboxImage] : [])];
    mkdirSync(args['cache-dir'], { recursive: true });
    for (const build of builds) {
      try {
        const image = build();
        const archive = join(args['cache-dir'], `${image.manifestDigest.slice('sha256:'.length)}.tar`);
        if (!existsSync(archive)) writeAtomically(archive, image.archive);
        await importImage({ socket: args.address } as never, archive);
      } catch (err) {
        throw new CliError((err as Error).message.split('\n')[0]!);
      }
    }
  },
};

const cgroupDriver: CommandModule = {
  command: 'cgroup-driver',
  describe: 'Print the cgroup driver for this host (systemd on cgroup v2 with systemd, else cgroupfs)',
  handler: async () => {
    // the agent's own rule (with --cgroup-driver auto), so containerd and the agent agree
    const { chooseCgroupDriver, hostCgroupClues } = await import('../agent/pods/cgroup-driver.ts');
    process.stdout.write(`${chooseCgroupDriver({ fromRuntime: undefined, ...await hostCgroupClues() }).driver}\n`);
  },
};

const podCidr: CommandModule<object, { kubeconfig: string; 'node-name': string; timeout: number }> = {
  command: 'pod-cidr',
  describe: "Wait until the control plane has given this node a pod subnet, and print it",
  builder: (y) => y
    .option('kubeconfig', { type: 'string', default: '/etc/bosun/agent.kubeconfig' })
    .option('node-name', { type: 'string', demandOption: true })
    .option('timeout', { type: 'number', default: 120, describe: 'seconds' }) as never,
  handler: async (args) => {
    const cidr = await nodeField(args, `node ${args['node-name']} given a pod subnet (spec.podCIDR); is the control plane running its controllers?`, 'podCIDR');
    process.stdout.write(`${cidr}\n`);
  },
};

const containerdStart: CommandModule<object, { config: string; socket: string; log: string; 'pid-file': string }> = {
  command: 'containerd-start',
  describe: 'Start containerd detached (for hosts without systemd), unless it already runs; wait until it answers',
  builder: (y) => y
    .option('config', { type: 'string', default: '/etc/containerd/config.toml' })
    .option('socket', { type: 'string', default: '/run/containerd/containerd.sock' })
    .option('log', { type: 'string', default: '/var/log/bosun/containerd.log' })
    .option('pid-file', { type: 'string', default: '/run/bosun/containerd.pid' }) as never,
  handler: async (args) => {
    const [{ startContainerd }, { isOurs }, { readFileSync }] = await Promise.all([import('../host/node-setup/containerd.ts'), import('../host/process/process.ts'), import('node:fs')]);
    const known = existsSync(args['pid-file']) ? Number(readFileSync(args['pid-file'], 'utf8').trim()) : 0;
    if (known > 0 && isOurs(known, args.config)) {
      process.stderr.write(`containerd already runs (pid ${known})\n`);
      return;
    }
    mkdirSync(dirname(args.log), { recursive: true });
    mkdirSync(dirname(args['pid-file']), { recursive: true });
    try {
      const pid = await startContainerd(undefined, { config: args.config, socket: args.socket, log: args.log } as never);
      writeAtomically(args['pid-file'], `${pid}\n`);
      process.stderr.write(`containerd runs detached (pid ${pid}, log ${args.log})\n`);
    } catch (err) {
      throw new CliError((err as Error).message.split('\n')[0]!);
    }
  },
};

const containerdStop: CommandModule<object, { config: string; 'pid-file': string }> = {
  command: 'containerd-stop',
  describe: 'Stop the containerd that containerd-start started (by its PID file)',
  builder: (y) => y
    .option('config', { type: 'string', default: '/etc/containerd/config.toml' })
    .option('pid-file', { type: 'string', default: '/run/bosun/containerd.pid' }) as never,
  handler: async (args) => {
    const [{ stopDaemon }, { readFileSync, rmSync }] = await Promise.all([import('../host/process/process.ts'), import('node:fs')]);
    if (!existsSync(args['pid-file'])) return;
    await stopDaemon(Number(readFileSync(args['pid-file'], 'utf8').trim()), args.config, 15_000);
    rmSync(args['pid-file'], { force: true });
  },
};

const waitReady: CommandModule<object, { kubeconfig: string; 'node-name': string; timeout: number }> = {
  command: 'wait-ready',
  describe: 'Wait until this node is Ready',
  builder: (y) => y
    .option('kubeconfig', { type: 'string', default: '/etc/bosun/agent.kubeconfig' })
    .option('node-name', { type: 'string', demandOption: true })
    .option('timeout', { type: 'number', default: 180, describe: 'seconds' }) as never,
  handler: async (args) => {
    await nodeField(args, `node ${args['node-name']} Ready`, 'ready');
  },
};

/** Waits on this node's object; a timeout is the one line the user reads. */
async function nodeField(args: { kubeconfig: string; 'node-name': string; timeout: number }, what: string, pick: 'podCIDR' | 'ready'): Promise<string> {
  const { waitNodeField, podCIDROf, readyOf } = await import('../host/node-setup/node-wait.ts');
  try {
    return await waitNodeField(args.kubeconfig, args['node-name'], args.timeout * 1000, what, pick === 'ready' ? readyOf : podCIDROf);
  } catch (err) {
    throw new CliError((err as Error).message.split('\n')[0]!);
  }
}

export const nodeSetupCommand: CommandModule = {
  command: 'node-setup <what>',
  describe: false,
  builder: (y) => y.command(containerdConfig as never).command(cni as never).command(images as never).command(cgroupDriver).command(podCidr as never).command(waitReady as never).command(containerdStart as never).command(containerdStop as never).demandCommand(1),
  handler: () => undefined,
};
