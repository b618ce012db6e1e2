/**
 * The entry of the single executable (scripts/build-executable.ts): cli/main.ts runs itself only
 * when Node starts it as a file, which the bundled copy never is.
 */
import { main, userArguments } from './main.ts';

void main(userArguments()).then((code) => {
  process.exitCode = code;
});
