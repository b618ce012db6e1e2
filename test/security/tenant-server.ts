/**
 * One real `bosun server` process per test file, with a tenant: a namespace whose admin is `alice`
 * (a RoleBinding to ClusterRole `admin`), as a cluster hands out every day. Started before the
 * file's first test or hook, stopped after its last test (also when one fails).
 */
import type { TestFn } from 'ava';
import {
  adminIdentity,
  namespaceAdmin,
  startServerProcess,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';

interface Tenant {
  readonly server: ServerProcess;
  /** system:masters, to look behind a refusal. */
  readonly admin: Identity;
  /** Admin of the namespace only. */
  readonly alice: Identity;
}

export function sharedTenantServer(test: TestFn, namespace: string): () => Promise<Tenant> {
  let starting: Promise<Tenant> | undefined;
  let server: ServerProcess | undefined;
  // hooks run concurrently: whichever asks first starts the server, the others wait for it
  const tenant = () => {
    starting ??= (async () => {
      server = await startServerProcess({ datastore: 'sqlite' });
      return { server, admin: adminIdentity(server.dataDir), alice: await namespaceAdmin(server, namespace, 'alice') };
    })();
    return starting;
  };
  test.before(async () => {
    await tenant();
  });
  test.after.always(async () => {
    await server?.destroy();
  });
  return tenant;
}
