/**
 * `bosun sandbox`: a cluster on one machine — every node a network namespace with its own
 * containerd, the control plane on the host's loopback, the agents' pod network between nodes, the
 * service CIDR routed into a sink. For trying bosun out, for fault injection, and for tests.
 */
import type { Argv, CommandModule } from 'yargs';
import { columnsText } from './columns.ts';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { CliError, ExitCode } from './exit.ts';
import { afterDashes, requiredPositional } from './typed-args.ts';

interface Common {
  name: string;
  root: string;
}

const namePattern = /^[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?$/;

function common<T>(y: Argv<T>): Argv<T & Common> {
  return y.option('name', { type: 'string', default: 'default', describe: 'Which sandbox' }).option('root', {
    type: 'string',
    default: '/var/lib/bosun/sandbox',
    describe: 'Where sandboxes keep their state',
    hidden: true,
  }) as Argv<T & Common>;
}

function checkName(name: string): void {
  if (!namePattern.test(name)) {
    throw new CliError(
      `sandbox name '${name}' must be lower-case letters, digits and '-', at most 30 characters`,
      ExitCode.usage,
    );
  }
}

async function load(args: Common) {
  checkName(args.name);
  const stateDir = join(args.root, args.name);
  if (!existsSync(join(stateDir, 'sandbox.json'))) {
    throw new CliError(`there is no sandbox '${args.name}'; create it with: bosun sandbox up --name ${args.name}`);
  }
  const { Sandbox } = await import('../sandbox/sandbox.ts');
  return Sandbox.load(stateDir, join(args.root, '.images'));
}

function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new CliError('bosun sandbox needs root (it creates network namespaces and runs containerd)');
}

const up: CommandModule<
  object,
  Common & { nodes: number; servers: number; topology: string; 'server-arg': string[]; 'agent-arg': string[] }
> = {
  command: 'up',
  describe: 'Create a sandbox cluster and print its kubeconfig path',
  builder: (y) =>
    common(y)
      .option('nodes', { type: 'number', default: 1, describe: 'How many nodes' })
      .option('servers', {
        type: 'number',
        default: 1,
        describe:
          'How many API servers: 2 or more share a 3-member etcd cluster (TLS) on the host side, the others joined to the first; agents fail over between them',
      })
      .option('topology', {
        type: 'string',
        choices: ['flat', 'routed'],
        default: 'flat',
        describe:
          'flat: every node on one segment (the agents route pods by host-gw); routed: two segments joined by a router (VXLAN between them)',
      })
      .option('server-arg', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Extra flag for bosun server (repeatable)',
      })
      .option('agent-arg', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Extra flag for each node agent (repeatable)',
      }),
  handler: async (args) => {
    requireRoot();
    checkName(args.name);
    if (!Number.isInteger(args.nodes) || args.nodes < 1 || args.nodes > 50)
      throw new CliError('--nodes must be a whole number from 1 to 50', ExitCode.usage);
    if (!Number.isInteger(args.servers) || args.servers < 1 || args.servers > 5)
      throw new CliError('--servers must be a whole number from 1 to 5', ExitCode.usage);
    const stateDir = join(args.root, args.name);
    if (existsSync(join(stateDir, 'sandbox.json'))) {
      throw new CliError(
        `sandbox '${args.name}' already exists; remove it first: bosun sandbox down --name ${args.name}`,
      );
    }
    const { Sandbox } = await import('../sandbox/sandbox.ts');
    let sandbox;
    try {
      sandbox = await Sandbox.create(
        {
          name: args.name,
          id: `bosun-${args.name}`,
          stateDir,
          ownerPid: 0,
          images: ['pause', 'busybox'],
          imageCacheDir: join(args.root, '.images'),
          topology: args.topology as 'flat' | 'routed',
        },
        args.nodes,
      );
    } catch (err) {
      throw new CliError(
        `sandbox '${args.name}' could not be created (nothing was left behind): ${(err as Error).message}`,
      );
    }
    try {
      const controlPlane = await sandbox.startControlPlane(args['server-arg'], args.servers);
      const ports = [controlPlane, ...(sandbox.record.servers ?? [])].map((s) => `https://127.0.0.1:${s.port}`);
      process.stderr.write(
        `sandbox '${args.name}': API server${ports.length > 1 ? 's' : ''} on ${ports.join(', ')}${sandbox.record.etcd ? ` (etcd: ${sandbox.record.etcd.members.length} members)` : ''}; joining ${args.nodes} node(s)\n`,
      );
      await sandbox.joinAgents(args['agent-arg']);
      process.stderr.write(
        `sandbox '${args.name}': ${args.nodes} node(s) joined; kubectl --kubeconfig ${controlPlane.kubeconfig} get nodes\n`,
      );
      process.stdout.write(`${controlPlane.kubeconfig}\n`);
    } catch (err) {
      await sandbox.destroy().catch(() => undefined);
      throw new CliError(`sandbox '${args.name}' could not start (nothing was left behind): ${(err as Error).message}`);
    }
  },
};

const down: CommandModule<object, Common> = {
  command: 'down',
  describe: 'Remove a sandbox and everything it created',
  builder: (y) => common(y),
  handler: async (args) => {
    requireRoot();
    checkName(args.name);
    if (!existsSync(join(args.root, args.name, 'sandbox.json'))) {
      process.stderr.write(`there is no sandbox '${args.name}'; nothing to remove\n`);
      return;
    }
    const sandbox = await load(args);
    await sandbox.destroy();
    process.stderr.write(`sandbox '${args.name}' removed\n`);
  },
};

const status: CommandModule<object, Common & { output: string }> = {
  command: 'status',
  describe: 'Show a sandbox: nodes, addresses, what runs',
  builder: (y) =>
    common(y).option('output', { alias: 'o', type: 'string', choices: ['table', 'json'], default: 'table' }),
  handler: async (args) => {
    const sandbox = await load(args);
    const { isOurs } = await import('../host/process/process.ts');
    const { controlPlaneRunning } = await import('../sandbox/control-plane.ts');
    const nodes = sandbox.nodes.map((node) => ({
      name: node.name,
      netns: node.netns,
      ip: node.ip,
      // the pod subnet is the control plane's (kubectl get nodes -o wide shows it); the segment is the sandbox's
      segment: node.record.segment ?? 0,
      containerd: isOurs(node.containerdPid, node.layout.config) ? 'running' : 'stopped',
      agent: node.record.agent === undefined ? 'none' : sandbox.agentRunning(node.name) ? 'running' : 'stopped',
      link: node.record.partitioned ? 'partitioned' : 'up',
    }));
    const cp = sandbox.record.controlPlane;
    const server = cp ? { port: cp.port, running: controlPlaneRunning(cp), kubeconfig: cp.kubeconfig } : undefined;
    const servers = [...(cp ? [cp] : []), ...(sandbox.record.servers ?? [])].map((s, i) => ({
      name: `server-${i + 1}`,
      port: s.port,
      running: controlPlaneRunning(s),
      reachable: isOurs(s.hubRelayPid, 'relay.ts'),
      kubeconfig: s.kubeconfig,
    }));
    const etcd = (sandbox.record.etcd?.members ?? []).map((m) => ({
      name: m.name,
      endpoint: m.clientUrl,
      state: !isOurs(m.pid, m.dataDir) ? 'stopped' : m.frozen ? 'partitioned' : 'running',
    }));
    if (args.output === 'json') {
      process.stdout.write(`${JSON.stringify({ name: sandbox.record.name, server, servers, etcd, nodes }, null, 2)}\n`);
      return;
    }
    process.stdout.write(
      `sandbox ${sandbox.record.name} (${sandbox.record.topology ?? 'flat'}): server ${server ? `${server.running ? 'running' : 'stopped'} on 127.0.0.1:${server.port}` : 'not started'}\n`,
    );
    if (servers.length > 1 || etcd.length > 0) {
      const parts = [
        ['COMPONENT', 'ADDRESS', 'STATE'],
        ...servers.map((s) => [
          s.name,
          `https://127.0.0.1:${s.port}`,
          !s.running ? 'stopped' : s.reachable ? 'running' : 'partitioned',
        ]),
        ...etcd.map((m) => [m.name, m.endpoint, m.state]),
      ];
      process.stdout.write(columnsText(parts));
    }
    const rows = [
      ['NODE', 'NETNS', 'IP', 'SEGMENT', 'CONTAINERD', 'AGENT', 'LINK'],
      ...nodes.map((n) => [n.name, n.netns, n.ip, String(n.segment), n.containerd, n.agent, n.link]),
    ];
    process.stdout.write(columnsText(rows));
  },
};

const kubeconfig: CommandModule<object, Common> = {
  command: 'kubeconfig',
  describe: "Print the path of a sandbox's kubeconfig",
  builder: (y) => common(y),
  handler: async (args) => {
    const sandbox = await load(args);
    if (!sandbox.record.controlPlane) throw new CliError(`sandbox '${args.name}' has no control plane`);
    process.stdout.write(`${sandbox.record.controlPlane.kubeconfig}\n`);
  },
};

const exec: CommandModule<object, Common & { node: string; command: string[] | undefined }> = {
  command: 'exec <node> [command..]',
  describe: "Run a command inside a node's network namespace, with the environment pointing at its runtime",
  builder: (y) =>
    requiredPositional(common(y), 'node', { type: 'string', describe: 'node-1, node-2, ...' })
      .positional('command', { type: 'string', array: true })
      .parserConfiguration({ 'populate--': true })
      .example('$0 sandbox exec node-2 -- bosun cri ps', "node-2's containers"),
  handler: async (args) => {
    const argv = [...(args.command ?? []), ...afterDashes(args)].map(String);
    if (argv.length === 0)
      throw new CliError('name the command to run, after --: bosun sandbox exec node-1 -- ip addr', ExitCode.usage);
    const sandbox = await load(args);
    const { runInNode } = await import('../sandbox/node-exec.ts');
    const code = await runInNode(sandbox, args.node, argv);
    process.exitCode = code;
  },
};

type Component = 'containerd' | 'agent';
const componentOption = <T>(y: Argv<T>) =>
  y.option('component', {
    type: 'string',
    choices: ['containerd', 'agent'] as const,
    default: 'agent' as Component,
    describe: 'Which part of the node',
  });

/** What a fault command acts on: a node's part, an API server, or an etcd member. */
type Target = { kind: 'node'; name: string } | { kind: 'server'; name: string } | { kind: 'etcd'; name: string };

function target(name: string): Target {
  if (/^server(-\d+)?$/.test(name)) return { kind: 'server', name };
  if (/^etcd-\d+$/.test(name)) return { kind: 'etcd', name };
  return { kind: 'node', name };
}

function faultCommand(
  command: string,
  describe: string,
  act: (sandbox: Awaited<ReturnType<typeof load>>, target: Target, component: Component) => Promise<void>,
  withComponent: boolean,
): CommandModule<object, Common & { node: string; component?: Component }> {
  return {
    command: `${command} <node>`,
    describe,
    builder: (y) =>
      requiredPositional<Common & { component?: Component }, 'node'>(
        withComponent ? componentOption(common(y)) : common(y),
        'node',
        { type: 'string', describe: 'node-1, node-2, ...; server-1, server-2, ...; etcd-1, etcd-2, etcd-3' },
      ),
    handler: async (args) => {
      requireRoot();
      const sandbox = await load(args);
      const chosen = target(args.node);
      if (chosen.kind === 'node') sandbox.node(args.node); // says which nodes exist when this one does not
      // --component exists (default agent) only where withComponent; the others ignore it
      try {
        await act(sandbox, chosen, args.component ?? 'agent');
      } catch (err) {
        throw new CliError((err as Error).message);
      }
    },
  };
}

const kill = faultCommand(
  'kill',
  'SIGKILL a component of a node, an API server or an etcd member (fault injection)',
  async (sandbox, target, component) => {
    if (target.kind === 'server') await sandbox.killServer(target.name);
    else if (target.kind === 'etcd') await sandbox.killEtcd(target.name);
    else if (component === 'agent') await sandbox.killAgent(target.name);
    else await sandbox.killContainerd(target.name);
  },
  true,
);

const start = faultCommand(
  'start',
  'Start a component of a node, an API server or an etcd member again',
  async (sandbox, target, component) => {
    if (target.kind === 'server') await sandbox.startServer(target.name);
    else if (target.kind === 'etcd') await sandbox.startEtcd(target.name);
    else if (component === 'agent') await sandbox.startAgent(target.name);
    else await sandbox.startContainerd(target.name);
  },
  true,
);

const partition = faultCommand(
  'partition',
  "Cut a node's link to the rest of the sandbox; cut the nodes off from an API server; silence an etcd member (SIGSTOP)",
  async (sandbox, target) => {
    if (target.kind === 'server') await sandbox.partitionServer(target.name);
    else if (target.kind === 'etcd') sandbox.partitionEtcd(target.name, true);
    else await sandbox.partition(target.name);
  },
  false,
);
const heal = faultCommand(
  'heal',
  'Undo a partition',
  async (sandbox, target) => {
    if (target.kind === 'server') await sandbox.healServer(target.name);
    else if (target.kind === 'etcd') sandbox.partitionEtcd(target.name, false);
    else await sandbox.heal(target.name);
  },
  false,
);

export const sandboxCommand: CommandModule = {
  command: 'sandbox <command>',
  describe: 'A cluster on this machine: nodes in network namespaces, each with its own containerd',
  builder: (y) =>
    y
      .command(up as unknown as CommandModule)
      .command(down as unknown as CommandModule)
      .command(status as unknown as CommandModule)
      .command(kubeconfig as unknown as CommandModule)
      .command(exec as unknown as CommandModule)
      .command(kill as unknown as CommandModule)
      .command(start as unknown as CommandModule)
      .command(partition as unknown as CommandModule)
      .command(heal as unknown as CommandModule)
      .demandCommand(1, 'name a sandbox command; see bosun sandbox --help'),
  handler: () => undefined,
};
