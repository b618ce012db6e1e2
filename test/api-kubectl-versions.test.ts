/**
 * Older and newer kubectl releases (1.27 ... 1.33, from the google-cloud-sdk folder) against bosun
 * server: discovery (legacy and aggregated), a generator create, table columns, can-i, delete.
 * A release that is not installed is reported as a visible skip line.
 */
import test from 'ava';
import { kubectl } from './controlplane/kubectl-scenario.ts';
import { kubectlReleaseBinaries } from './controlplane/kubectl-releases.ts';
import { startServerProcess, type ServerProcess } from './controlplane/server-process.ts';

let server: ServerProcess | undefined;
test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
});
test.after.always(async () => {
  await server?.destroy();
});

for (const { release, binary, installed } of kubectlReleaseBinaries()) {
  if (!installed) {
    test.skip(`kubectl ${release}: not installed at ${binary}`, () => undefined);
    continue;
  }
  test(`kubectl ${release}`, async (t) => {
    const run = async (args: string[]) => {
      const r = await kubectl(server!, args, undefined, {}, binary);
      t.is(r.code, 0, `kubectl.${release} ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const ns = `v${release.replace('.', '-')}`;
    // 1.27 prints version.Info{...}, later releases a plain version.
    t.regex(await run(['version']), /Server Version: (v1\.32\.0-bosun|version\.Info\{Major:"1", Minor:"32")/);
    t.regex(await run(['api-resources']), /deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    await run(['create', 'namespace', ns]);
    await run(['create', 'deployment', 'web', '-n', ns, '--image=registry.local/web:1', '--replicas=2']);
    const table = await run(['get', 'deploy', '-n', ns]);
    t.regex(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n^web\s+0\/2\s+0\s+0\s+\d+s$/m);
    t.is((await run(['auth', 'can-i', 'delete', 'deployments', '-n', ns])).trim(), 'yes');
    // No controllers run here: the namespace stays Terminating, so do not wait for it to go.
    t.regex(await run(['delete', 'namespace', ns, '--wait=false']), /deleted/);
  });
}
