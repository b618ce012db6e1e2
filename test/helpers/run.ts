export { run, mustRun } from '../../host/process/run.ts';
