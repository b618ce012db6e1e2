export { waitFor, type WaitOptions } from '../../cli/sandbox/wait.ts';
