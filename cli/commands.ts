import type { CommandModule } from 'yargs';

/**
 * Every top-level subcommand. Each entry's builder/handler import their module only when the
 * command runs, which keeps `bosun --help` and small commands fast.
 */
export const commands: CommandModule[] = [];
