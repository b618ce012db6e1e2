export { run, mustRun } from '../../cli/sandbox/run.ts';
