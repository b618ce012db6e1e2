export { waitFor, type WaitOptions } from '../../host/process/wait.ts';
