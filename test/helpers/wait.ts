export { waitFor } from '../../host/process/wait.ts';
