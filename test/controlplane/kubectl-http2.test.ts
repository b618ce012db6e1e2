/**
 * Every kubectl release the tests know (1.27 ... 1.35) negotiates HTTP/2 with the server, as it
 * does with kube-apiserver, and works over it: apply, get, list, watch, patch and delete. The
 * server counts each connection by the protocol it agreed on; kubectl's go over h2, none over
 * HTTP/1.1. A user refused over HTTP/2 gets upstream's 403 and the object stays as it was.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, kubectlOk } from '../bed/kubectl.ts';
import { refs } from '../../kube/resource-ref.ts';
import { sharedInProcess } from './in-process.ts';
import { installedKubectlReleases } from './kubectl-releases.ts';
import { watchLines } from './apiextensions/kubectl-watch.ts';

const shared = sharedInProcess(test);
const folder = mkdtempSync(join(tmpdir(), 'bosun-kubectl-h2-'));
test.after.always(() => rmSync(folder, { recursive: true, force: true }));

for (const { release, binary } of installedKubectlReleases()) {
  test.serial(`kubectl ${release} speaks HTTP/2 to the server: apply, get, list, watch, patch, delete`, async (t) => {
    const call = { binary, kubeconfig: shared.server().server.kubeconfigPath };
    const api = shared.server().server.api;
    const before = api.connections().accepted;
    const name = `h2-${release.replace('.', '-')}`;
    const manifest = join(folder, `${name}.json`);
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: 'default' },
        data: { step: 'one' },
      }),
    );
    t.regex(await kubectlOk(call, ['apply', '-f', manifest]), new RegExp(`configmap/${name} created`));
    t.regex(await kubectlOk(call, ['get', 'configmap', name]), new RegExp(`^${name}\\s+1\\s`, 'm'));
    const list = JSON.parse(await kubectlOk(call, ['get', 'configmaps', '-o', 'json']));
    t.true(list.items.some((item: { metadata: { name: string } }) => item.metadata.name === name));
    const watched = await watchLines(
      call.kubeconfig,
      binary,
      ['get', 'configmap', name, '-w', '-o', 'custom-columns=NAME:.metadata.name,STEP:.data.step'],
      `${name} two`,
      () => kubectlOk(call, ['patch', 'configmap', name, '--type=merge', '-p', '{"data":{"step":"two"}}']),
    );
    t.deepEqual(watched, ['NAME STEP', `${name} one`, `${name} two`]);
    const refused = await kubectl(call, ['delete', 'configmap', name, '--as', 'someone']);
    t.not(refused.code, 0);
    t.regex(
      refused.stderr,
      /configmaps "h2-[\d-]+" is forbidden: User "someone" cannot delete resource "configmaps" in API group "" in the namespace "default"/,
    );
    t.is((await shared.client().get(refs.configmaps, name, 'default')).metadata.name, name, 'still there');
    t.regex(await kubectlOk(call, ['delete', 'configmap', name]), new RegExp(`configmap "${name}" deleted`));

    const after = api.connections().accepted;
    // seven kubectl runs (the watch's included), each a connection of its own, all over HTTP/2
    t.true(after.h2 - before.h2 >= 7, `h2 connections: ${after.h2 - before.h2}`);
    t.is(after['http/1.1'] - before['http/1.1'], 0, 'no kubectl connection fell back to HTTP/1.1');
  });
}
