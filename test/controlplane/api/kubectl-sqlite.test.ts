import test from 'ava';
import { kubectlScenario } from '../kubectl-scenario.ts';
import { startServerProcess, type ServerProcess } from '../server-process.ts';

let server: ServerProcess | undefined;
test.after.always(async () => {
  await server?.destroy();
});

test('kubectl scenario against bosun server on sqlite', async (t) => {
  server = await startServerProcess({ datastore: 'sqlite' });
  await kubectlScenario(t, server);
});
