/**
 * kubectl 1.27 ... 1.33 (from the google-cloud-sdk folder) apply, validate and explain against
 * bosun server. 1.27 and 1.28 read the OpenAPI v2 document, and only as gnostic protobuf; later
 * releases read v3. Per release: create a Deployment, a Service and a Pod with `apply -f`, apply
 * again with other replicas and a changed container env (a strategic merge patch), refuse a
 * manifest with an unknown field, and explain deployment.spec.replicas and pod.spec.containers
 * (with upstream's field descriptions). A release that is not
 * installed is reported as a visible skip line.
 */
import test from 'ava';
import { kubectl } from '../kubectl-scenario.ts';
import { kubectlReleaseBinaries } from '../kubectl-releases.ts';
import { startServerProcess, type ServerProcess } from '../server-process.ts';

let server: ServerProcess | undefined;
test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
});
test.after.always(async () => {
  await server?.destroy();
});

const manifest = (ns: string, replicas: number, mode: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.local/web:1
        env:
        - {name: MODE, value: ${mode}}
        - {name: KEEP, value: "yes"}
      - name: sidecar
        image: registry.local/sidecar:1
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: single, namespace: ${ns}}
spec:
  containers: [{name: app, image: registry.local/app:1}]
`;

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
}

for (const { release, binary, installed, missing } of kubectlReleaseBinaries()) {
  if (!installed) {
    test.skip(`kubectl ${release}: ${missing}`, () => undefined);
    continue;
  }
  test(`kubectl ${release}: apply, update by strategic merge patch, unknown field, explain`, async (t) => {
    const ns = `oa2-${release.replace('.', '-')}`;
    const run = async (args: string[], input?: string) => {
      const r = await kubectl(server!, args, input, {}, binary);
      t.is(r.code, 0, `kubectl.${release} ${args.join(' ')}: ${r.stderr}`);
      t.notRegex(
        r.stderr,
        /error calculating patch from openapi/,
        `kubectl.${release} ${args.join(' ')} could not use the document: ${r.stderr}`,
      );
      return r.stdout;
    };
    await run(['create', 'namespace', ns]);
    try {
      const created = await run(['apply', '-f', '-'], manifest(ns, 2, 'first'));
      t.regex(created, /deployment\.apps\/web created/);
      t.regex(created, /service\/web created/);
      t.regex(created, /pod\/single created/);

      const updated = await run(['apply', '-f', '-'], manifest(ns, 3, 'second'));
      t.regex(updated, /deployment\.apps\/web configured/);
      t.regex(updated, /service\/web unchanged/);
      const deployment = JSON.parse(await run(['get', 'deployment', 'web', '-n', ns, '-o', 'json'])) as {
        spec: { replicas: number; template: { spec: { containers: Container[] } } };
      };
      t.is(deployment.spec.replicas, 3);
      const containers = deployment.spec.template.spec.containers;
      t.deepEqual(
        containers.map((c) => c.name),
        ['web', 'sidecar'],
      );
      t.deepEqual(containers[0]?.env, [
        { name: 'MODE', value: 'second' },
        { name: 'KEEP', value: 'yes' },
      ]);

      const unknown = await kubectl(
        server!,
        ['apply', '-f', '-'],
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: odd, namespace: ${ns}}\ndata: {a: b}\nbogusField: 1\n`,
        {},
        binary,
      );
      t.not(unknown.code, 0, `kubectl.${release} applied a manifest with an unknown field: ${unknown.stdout}`);
      t.regex(unknown.stderr, /unknown field "bogusField"/);
      t.is(
        (await kubectl(server!, ['get', 'configmap', 'odd', '-n', ns], undefined, {}, binary)).code,
        1,
        'the refused ConfigMap exists',
      );

      const explained = await run(['explain', 'deployment.spec.replicas']);
      t.regex(explained, /KIND:\s+Deployment/);
      t.regex(explained, /FIELD:\s+replicas\s+<integer>/);
      // upstream's field documentation, as a real apiserver's OpenAPI carries it
      t.regex(explained, /Number of desired pods\./);
      const explainedContainers = await run(['explain', 'pod.spec.containers']);
      t.regex(explainedContainers, /List of containers belonging to the pod\./);
      t.regex(explainedContainers, /image\s+<string>\s+Container image name\./);
      t.regex(explainedContainers, /args\s+<\[\]string>\s+Arguments to the entrypoint\. The container image's CMD/);
    } finally {
      // No controllers run here: the namespace stays Terminating, so do not wait for it to go.
      await kubectl(server!, ['delete', 'namespace', ns, '--wait=false'], undefined, {}, binary);
    }
  });
}
