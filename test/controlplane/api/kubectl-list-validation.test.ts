/**
 * kubectl validates a List on the client, against the /openapi/v2 document (a List's kind takes
 * no fieldValidation parameter, so kubectl cannot leave the check to the server; kubectl 1.27 and
 * 1.28 do the same for every object). A field upstream has must therefore be in that document even
 * when bosun does not check it, or kubectl refuses a valid manifest ("unknown field ... in
 * io.k8s.api.core.v1.PodSpec"); a field upstream does not have is still refused.
 */
import test from 'ava';
import { kubectl } from '../kubectl-scenario.ts';
import { startServerProcess, type ServerProcess } from '../server-process.ts';

let server: ServerProcess | undefined;
test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
});
test.after.always(async () => {
  await server?.destroy();
});

const template = (extraSpec: Record<string, unknown>) => ({
  metadata: { labels: { app: 'web' } },
  spec: {
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { app: 'web' } },
      },
    ],
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 1,
            podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } },
          },
        ],
      },
    },
    hostname: 'web',
    containers: [
      {
        name: 'web',
        image: 'registry.local/web:1',
        readinessProbe: { httpGet: { path: '/', port: 8080, httpHeaders: [{ name: 'X-Probe', value: '1' }] } },
        resources: { claims: [] },
      },
    ],
    ...extraSpec,
  },
});

const list = (extraSpec: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: template(extraSpec) },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: 'default' },
        spec: {
          replicas: 1,
          serviceName: 'db',
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: { app: 'web' } },
          template: template(extraSpec),
        },
      },
    ],
  });

test.serial('kubectl applies a List whose objects use upstream fields bosun does not check', async (t) => {
  const r = await kubectl(server!, ['apply', '--dry-run=server', '-f', '-'], list());
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /deployment.apps\/web created \(server dry run\)/);
  t.regex(r.stdout, /statefulset.apps\/db created \(server dry run\)/);
});

test.serial('a field upstream does not have is still refused by kubectl', async (t) => {
  const r = await kubectl(server!, ['apply', '--dry-run=server', '-f', '-'], list({ bogusField: true }));
  t.not(r.code, 0);
  t.regex(r.stderr, /unknown field "bogusField" in io\.k8s\.api\.core\.v1\.PodSpec/);
});
