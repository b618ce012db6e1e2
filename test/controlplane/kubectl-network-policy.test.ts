/**
 * NetworkPolicy through real kubectl against bosun server with its controllers: create, get with
 * upstream's columns, describe, a refusal in upstream's words, and a namespace deletion that takes
 * its policies along.
 */
import test from 'ava';
import { waitFor } from '../helpers/wait.ts';
import { useKubectlBed } from './kubectl-bed.ts';

const bed = useKubectlBed();

const manifest = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-team, namespace: np-kubectl}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: blue}}
      podSelector: {matchLabels: {role: client}}
    ports:
    - {port: 8080}
    - {port: metrics, protocol: TCP}
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
    ports: [{port: 5432, endPort: 5440}]
`;

test.serial('kubectl creates, lists and describes a policy; deleting its namespace deletes it', async (t) => {
  t.timeout(120_000);
  await bed.ok(t, 'create', 'namespace', 'np-kubectl');
  await bed.ok(t, 'create', '-f', bed.file('policy.yaml', manifest));
  const table = await bed.ok(t, 'get', 'netpol', '-n', 'np-kubectl');
  t.regex(table, /^NAME\s+POD-SELECTOR\s+AGE\n/);
  t.regex(table, /\nweb-from-team\s+app=web\s+\d+s\n/);
  const described = await bed.ok(t, 'describe', 'networkpolicy', '-n', 'np-kubectl', 'web-from-team');
  t.regex(described, /PodSelector:\s+app=web/);
  t.regex(described, /To Port: 8080\/TCP/);
  t.regex(described, /Policy Types: Ingress, Egress/);

  await bed.ok(t, 'delete', 'namespace', 'np-kubectl', '--wait=false');
  await waitFor(async () => (await bed.kubectl(['get', 'namespace', 'np-kubectl'])).code !== 0 || undefined, {
    what: 'namespace np-kubectl gone once its policy was deleted',
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  t.notRegex(await bed.ok(t, 'get', 'netpol', '-A', '-o', 'name'), /web-from-team/, 'the policy went with it');
});

test.serial('kubectl shows the refusal of an invalid policy in upstream words', async (t) => {
  const bad = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: default}
spec:
  podSelector: {}
  ingress: [{from: [{}], ports: [{port: 90, endPort: 80}]}]
`;
  const r = await bed.kubectl(['create', '-f', bed.file('bad.yaml', bad)]);
  t.is(r.code, 1);
  t.regex(
    r.stderr,
    /The NetworkPolicy "bad" is invalid: \n\* spec\.ingress\[0\]\.ports\[0\]\.endPort: Invalid value: 80: must be greater than or equal to `port`\n\* spec\.ingress\[0\]\.from\[0\]: Required value: must specify a peer/,
  );
  t.not((await bed.kubectl(['get', 'netpol', 'bad'])).code, 0, 'nothing was stored');
});
