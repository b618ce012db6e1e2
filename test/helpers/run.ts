export { run } from '../../host/process/run.ts';
