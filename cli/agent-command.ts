/**
 * `bosun agent`: the node agent (kubelet + kube-proxy). Runs in the foreground until SIGTERM or
 * SIGINT, then stops its loops and leaves every container running for the next agent to adopt.
 * Its flags are data (cli/agent-flags.ts); what it runs is cli/agent-run.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import { withConfigFile } from './config/daemon-config.ts';
import { optionTableOfCommand } from './config/command-option-table.ts';
import { serverCommand } from './server.ts';
import { agentConfigFileFlags, agentFlags, type AgentArgs } from './agent-flags.ts';
import { runAgent } from './agent-run.ts';

/** `--config` and `--proxy-config`, read under the command line; the server's keys in a shared file are skipped. */
function agentConfigFiles<T>(y: Argv<T>): Argv<T> {
  const elsewhere = () =>
    new Set(optionTableOfCommand(serverCommand as unknown as CommandModule<object, never>).keys());
  let withFiles = y;
  for (const [flag, { describe, ...reader }] of Object.entries(agentConfigFileFlags)) {
    withFiles = withConfigFile(withFiles, flag as keyof typeof agentConfigFileFlags, describe, {
      command: 'bosun agent',
      elsewhere,
      ...reader,
    });
  }
  return withFiles;
}

export const agentCommand: CommandModule<object, AgentArgs> = {
  command: 'agent',
  describe: 'Run the node agent: register the node, run its pods on containerd, program service rules',
  builder: (y) => agentConfigFiles(y.options(agentFlags)) as unknown as Argv<AgentArgs>,
  handler: runAgent,
};
