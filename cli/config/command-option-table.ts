/**
 * The flags of another command, for a config file that two daemons share: its builder run on an
 * empty command line. Apart from option-table.ts because it loads yargs, which a reader of plain
 * command lines does without.
 */
import type { Argv, CommandModule } from 'yargs';
import yargs from 'yargs';
import { optionTableOf, type OptionTable } from './option-table.ts';

export function optionTableOfCommand(command: CommandModule<object, never>): OptionTable {
  const builder = command.builder as ((y: Argv<object>) => Argv<unknown>) | undefined;
  const y = yargs([]);
  return optionTableOf(builder === undefined ? y : builder(y));
}
