import type { CommandModule } from 'yargs';
import { serverCommand } from './server.ts';
import { criCommand } from './cri.ts';
import { sandboxCommand } from './sandbox-command.ts';
import { tokenCommand } from './token-command.ts';
import { certsCommand } from './certs-command.ts';
import { agentCommand } from './agent-command.ts';
import { joinCommand } from './join-command.ts';
import { initCommand } from './init-command.ts';
import { resetCommand } from './reset-command.ts';
import { nodeSetupCommand } from './node-setup-command.ts';
import { upCommand } from './up-command.ts';
import { hollowCommand } from './hollow-command.ts';
import { checkConfigCommand } from './check-config-command.ts';
import { datastoreCommand } from './datastore-command.ts';
import { kubeconfigCommand } from './kubeconfig-command.ts';

/**
 * Every top-level subcommand. Each entry's builder/handler import their module only when the
 * command runs, which keeps `bosun --help` and small commands fast.
 */
export const commands: CommandModule[] = [
  serverCommand as unknown as CommandModule,
  criCommand as unknown as CommandModule,
  sandboxCommand,
  tokenCommand,
  certsCommand,
  joinCommand as unknown as CommandModule,
  initCommand as unknown as CommandModule,
  resetCommand as unknown as CommandModule,
  upCommand as unknown as CommandModule,
  nodeSetupCommand,
  agentCommand as unknown as CommandModule,
  hollowCommand as unknown as CommandModule,
  checkConfigCommand as unknown as CommandModule,
  datastoreCommand,
  kubeconfigCommand as unknown as CommandModule,
];
