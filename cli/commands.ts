import type { Argv, CommandModule } from 'yargs';

/**
 * One top-level subcommand as `bosun --help` lists it, and where its implementation lives. The
 * module is imported only when the command line names this command: `bosun cri ps` then loads
 * the CRI client and nothing of the server or the agent, and `bosun --help` loads none of them.
 */
interface CommandEntry {
  /** yargs' command string, as the module's own `command` field says it. */
  readonly command: string;
  /** The line in `bosun --help`; false hides the command, as the module's `describe` does. */
  readonly describe: string | false;
  readonly load: () => Promise<CommandModule>;
}

const entry = <T>(command: string, describe: string | false, load: () => Promise<T>): CommandEntry => ({
  command,
  describe,
  load: async () => (await load()) as CommandModule,
});

/** Every top-level subcommand, in the order `bosun --help` lists them. */
export const commandTable: readonly CommandEntry[] = [
  entry(
    'server',
    'Run the Kubernetes-compatible API server (HTTPS, sqlite or etcd datastore)',
    async () => (await import('./server.ts')).serverCommand,
  ),
  entry(
    'cri',
    'Inspect and drive the container runtime through CRI (like crictl)',
    async () => (await import('./cri.ts')).criCommand,
  ),
  entry(
    'sandbox <command>',
    'A cluster on this machine: nodes in network namespaces, each with its own containerd',
    async () => (await import('./sandbox-command.ts')).sandboxCommand,
  ),
  entry(
    'token <command>',
    'Manage bootstrap tokens that nodes join with',
    async () => (await import('./token-command.ts')).tokenCommand,
  ),
  entry(
    'certs <command>',
    "Check and renew the control plane's own certificates",
    async () => (await import('./certs-command.ts')).certsCommand,
  ),
  entry(
    'join <server>',
    'Join this machine to a cluster as a node',
    async () => (await import('./join-command.ts')).joinCommand,
  ),
  entry(
    'init',
    'Start the control plane on this machine and print the command that joins nodes',
    async () => (await import('./init-command.ts')).initCommand,
  ),
  entry(
    'reset',
    "Undo init/join on this machine: stop bosun's daemons, remove its pods, rules, CNI state and files",
    async () => (await import('./reset-command.ts')).resetCommand,
  ),
  entry(
    'up',
    'Run a single-node cluster in the foreground (server + agent; Ctrl-C stops both, pods keep running)',
    async () => (await import('./up-command.ts')).upCommand,
  ),
  entry('node-setup <what>', false, async () => (await import('./node-setup-command.ts')).nodeSetupCommand),
  entry(
    'agent',
    'Run the node agent: register the node, run its pods on containerd, program service rules',
    async () => (await import('./agent-command.ts')).agentCommand,
  ),
  entry(
    'hollow <server>',
    'Run many hollow nodes (real agent, fake runtime) in one process, for scale tests',
    async () => (await import('./hollow-command.ts')).hollowCommand,
  ),
  entry(
    'check-config',
    'Check that this host has what bosun needs (kernel, cgroups, runtime, CNI, ports)',
    async () => (await import('./check-config-command.ts')).checkConfigCommand,
  ),
  entry(
    'datastore <command>',
    'Snapshots of the datastore: save, list, restore',
    async () => (await import('./datastore-command.ts')).datastoreCommand,
  ),
  entry(
    'kubeconfig',
    'Print the admin kubeconfig, with a context per live API server (--all-servers)',
    async () => (await import('./kubeconfig-command.ts')).kubeconfigCommand,
  ),
];

/** The word that names a command: `join <server>` is named `join`. */
const commandName = (entry: CommandEntry): string => entry.command.split(' ')[0]!;

/**
 * The entry the command line runs: its first plain word, if that names a command (a flag's value
 * or a later word, as in `bosun cri ps --name agent`, does not count). Shell completion passes the
 * program name first in bash and zsh (`bosun --get-yargs-completions bosun cri p`): that word is
 * passed over.
 */
function namedEntry(argv: readonly string[]): CommandEntry | undefined {
  const completing = argv[0] === '--get-yargs-completions';
  const words = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length).filter((w) => !w.startsWith('-'));
  const byName = (word: string | undefined) => commandTable.find((candidate) => commandName(candidate) === word);
  return byName(words[0]) ?? (completing ? byName(words[1]) : undefined);
}

/**
 * What yargs is given: the named command's own module, loaded now (its builder registers
 * subcommands synchronously, which help and completion rely on), and for every other command a
 * stand-in with the same usage line that loads its module if yargs ever runs it.
 */
export async function commandsFor(argv: readonly string[]): Promise<CommandModule[]> {
  const named = namedEntry(argv);
  return Promise.all(
    commandTable.map(async (candidate): Promise<CommandModule> => {
      if (candidate === named) return candidate.load();
      return {
        command: candidate.command,
        describe: candidate.describe,
        builder: async (y: Argv) => {
          const builder = (await candidate.load()).builder;
          return typeof builder === 'function' ? builder(y) : y.options(builder ?? {});
        },
        handler: async (args) => (await candidate.load()).handler(args),
      };
    }),
  );
}
