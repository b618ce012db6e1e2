/**
 * The entry of the single executable (scripts/build-executable.ts): cli/main.ts runs itself only
 * when Node starts it as a file, which the bundled copy never is.
 */
import { hideBin } from 'yargs/helpers';
import { main } from './main.ts';

void main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
