/**
 * `bosun check-config`, as `k3s check-config`: what this host has and lacks for bosun (kernel
 * features, cgroups, swap, iptables, containerd, runc, CNI plugins, ports), with a one-line fix for
 * each miss. Exits 1 when something required is missing; install.sh runs it before it starts anything.
 */
import type { CommandModule } from 'yargs';
import { ExitCode } from './exit.ts';

interface CheckConfigArgs {
  output: string;
}

export const checkConfigCommand: CommandModule<object, CheckConfigArgs> = {
  command: 'check-config',
  describe: 'Check that this host has what bosun needs (kernel, cgroups, runtime, CNI, ports)',
  builder: (y) =>
    y.option('output', {
      alias: 'o',
      type: 'string',
      choices: ['text', 'json'],
      default: 'text',
      describe: 'text for people, json for scripts',
    }),
  handler: async (args) => {
    const { readHostInventory } = await import('../host/check-config/host-inventory.ts');
    const { checkHost, hostPasses } = await import('../host/check-config/checks.ts');
    const { renderFindings } = await import('../host/check-config/render.ts');
    const facts = readHostInventory();
    const findings = checkHost(facts);
    const kernel = `kernel ${facts.kernelRelease} (${facts.kernelConfig === undefined ? 'no build config published' : `config from ${facts.kernelConfig.source}`})`;
    if (args.output === 'json') {
      process.stdout.write(`${JSON.stringify({ kernel, passes: hostPasses(findings), findings }, null, 2)}\n`);
    } else {
      process.stdout.write(renderFindings(findings, kernel));
    }
    if (!hostPasses(findings)) process.exitCode = ExitCode.failed;
  },
};
