/**
 * Static pods: a manifest file made into the pod the agent runs (as the kubelet's file source), the
 * mirror plan, and the folder reader with a runner and a mirror API that keep state and can fail.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Pod } from '../../../kube/corev1.ts';
import { ApiError } from '../../../kube/errors.ts';
import { ManualClock } from '../manual-clock.ts';
import { staticPodFromManifest, isMirrorPod, isStaticPod } from '../../../agent/static-pods/static-pod-manifest.ts';
import { diffStaticPods, mirrorOf, planMirrors } from '../../../agent/static-pods/mirror-plan.ts';
import { StaticPods, type MirrorApi } from '../../../agent/static-pods/static-pods.ts';
import { waitFor } from '../../helpers/wait.ts';

const web = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: c
    image: busybox
    command: [sleep, '3600']
`;
const seen = new Date('2026-12-07T08:00:00Z');
const podOf = (text: string, file = '/etc/bosun/manifests/web.yaml', node = 'node-1') => {
  const result = staticPodFromManifest(text, file, node, seen);
  if ('error' in result) throw new Error(result.error);
  return result.pod;
};

test('a manifest becomes the static pod the kubelet would make of it', (t) => {
  const pod = podOf(web);
  t.is(pod.metadata.name, 'web-node-1');
  t.is(pod.metadata.namespace, 'default');
  t.is(pod.spec.nodeName, 'node-1');
  t.deepEqual(pod.metadata.labels, { app: 'web' });
  t.deepEqual(pod.spec.tolerations, [{ operator: 'Exists', effect: 'NoExecute' }]);
  t.regex(pod.metadata.uid ?? '', /^[0-9a-f]{32}$/);
  t.like(pod.metadata.annotations, {
    'kubernetes.io/config.hash': pod.metadata.uid,
    'kubernetes.io/config.source': 'file',
    'kubernetes.io/config.seen': '2026-12-07T08:00:00.000Z',
  });
  t.true(isStaticPod(pod));
  t.false(isMirrorPod(pod));
  t.is(podOf(web, '/etc/bosun/manifests/web.yaml', 'Node-1').metadata.name, 'web-node-1', 'node names are lower-cased');
});

test('the UID is stable for the same file and changes with its content, its path or the node', (t) => {
  const uid = podOf(web).metadata.uid;
  t.is(podOf(web).metadata.uid, uid);
  const later = staticPodFromManifest(web, '/etc/bosun/manifests/web.yaml', 'node-1', new Date());
  t.is('pod' in later ? later.pod.metadata.uid : undefined, uid, 'the time it was seen is not part of it');
  t.not(podOf(web.replace('3600', '3601')).metadata.uid, uid);
  t.not(podOf(web, '/etc/bosun/manifests/other.yaml').metadata.uid, uid);
  t.not(podOf(web, '/etc/bosun/manifests/web.yaml', 'node-2').metadata.uid, uid);
  t.is(
    podOf(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'j', namespace: 'ops' },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      }),
    ).metadata.namespace,
    'ops',
  );
});

test('a bad manifest is one line saying what is wrong', (t) => {
  const error = (text: string) => {
    const result = staticPodFromManifest(text, '/m/x', 'node-1', seen);
    return 'error' in result ? result.error : 'accepted';
  };
  t.regex(error('a: [1'), /^not valid YAML or JSON: /);
  t.is(error('- a'), 'expected one Pod object');
  t.is(error('kind: Deployment\napiVersion: apps/v1\n'), 'expected kind Pod (apiVersion v1), found "Deployment"');
  t.is(error('kind: Pod\nspec: {containers: [{name: c, image: x}]}\n'), 'metadata.name: Required value');
  t.is(error('kind: Pod\nmetadata: {name: a}\nspec: {}\n'), 'spec.containers: Required value');
  t.regex(
    error('kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: "../x", image: x}]}\n'),
    /^spec\.containers\[0\]\.name: Invalid value/,
  );
  t.regex(
    error(`kind: Pod\nmetadata: {name: ${'a'.repeat(250)}}\nspec: {containers: [{name: c, image: x}]}\n`),
    /^metadata\.name: Invalid value: .*must be no more than 253/,
  );
  t.regex(
    error('kind: Pod\nmetadata: {name: a, namespace: "Bad_NS"}\nspec: {containers: [{name: c, image: x}]}\n'),
    /^metadata\.namespace: Invalid value/,
  );
});

const node = { name: 'node-1', uid: 'node-uid' };

test('mirror plan: a missing mirror is created owned by the Node; a stale or orphaned one deleted; a regular pod is a conflict', (t) => {
  const pod = podOf(web);
  const create = planMirrors([pod], [], node);
  t.is(create.length, 1);
  const mirror = (create[0] as { pod: Pod }).pod;
  t.is(mirror.metadata.uid, undefined);
  t.is(mirror.metadata.annotations?.['kubernetes.io/config.mirror'], pod.metadata.uid);
  t.deepEqual(mirror.metadata.ownerReferences, [
    { apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'node-uid', controller: true },
  ]);
  t.true(isMirrorPod(mirror));

  const current = { ...mirror, metadata: { ...mirror.metadata, uid: 'api-uid-1' } };
  t.deepEqual(planMirrors([pod], [current], node), [], 'an up-to-date mirror is left alone');
  const edited = podOf(web.replace('3600', '10'));
  t.deepEqual(planMirrors([edited], [current], node), [
    { kind: 'delete', namespace: 'default', name: 'web-node-1', uid: 'api-uid-1' },
  ]);
  t.deepEqual(planMirrors([], [current], node), [
    { kind: 'delete', namespace: 'default', name: 'web-node-1', uid: 'api-uid-1' },
  ]);
  const terminating = { ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-12-07T08:00:00Z' } };
  t.deepEqual(
    planMirrors([pod], [terminating], node),
    [{ kind: 'delete', namespace: 'default', name: 'web-node-1', uid: 'api-uid-1' }],
    'a mirror being deleted goes at once; its replacement waits until it is gone',
  );
  const regular = { ...mirror, metadata: { name: 'web-node-1', namespace: 'default', uid: 'r' } } as Pod;
  t.deepEqual(planMirrors([pod], [regular], node), [{ kind: 'conflict', namespace: 'default', name: 'web-node-1' }]);
  t.deepEqual(mirrorOf(pod, node).spec, pod.spec);
});

test('diff by UID: an edit is the old pod removed and the new one added', (t) => {
  const a = podOf(web);
  const b = podOf(web.replace('3600', '1'));
  const { added, removed } = diffStaticPods(new Map([[a.metadata.uid!, a]]), new Map([[b.metadata.uid!, b]]));
  t.deepEqual(
    added.map((p) => p.metadata.uid),
    [b.metadata.uid],
  );
  t.deepEqual(
    removed.map((p) => p.metadata.uid),
    [a.metadata.uid],
  );
});

/** A runner that records what runs, and a mirror API that keeps the API's pods and can be told to fail. */
function harness(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), `bosun-static-${process.pid}-`));
  const running = new Map<string, Pod>();
  const api = new Map<string, Pod>();
  const state = { failing: false, creates: 0 };
  let uid = 0;
  const mirrorApi: MirrorApi = {
    async create(pod) {
      if (state.failing) throw new Error('connect ECONNREFUSED');
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (api.has(key)) throw new ApiError('AlreadyExists', `pods "${pod.metadata.name}" already exists`);
      state.creates += 1;
      const stored = { ...pod, metadata: { ...pod.metadata, uid: `api-${++uid}` } };
      api.set(key, stored);
      sources.observeApiPod(stored);
    },
    async delete(namespace, name, podUid) {
      if (state.failing) throw new Error('connect ECONNREFUSED');
      const stored = api.get(`${namespace}/${name}`);
      if (stored === undefined) throw new ApiError('NotFound', `pods "${name}" not found`);
      if (stored.metadata.uid !== podUid) throw new ApiError('Conflict', 'uid precondition');
      api.delete(`${namespace}/${name}`);
      sources.forgetApiPod(stored);
    },
  };
  const warnings: string[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void (JSON.parse(line).level === 40 && warnings.push(JSON.parse(line).msg)) },
  );
  const sources = new StaticPods({
    dir,
    nodeName: 'node-1',
    rescanMs: 50,
    clock: new ManualClock(Date.parse('2026-12-07T08:00:00Z')),
    log,
    runner: {
      upsert: (pod) => void running.set(pod.metadata.uid ?? '', pod),
      remove: async (pod) => void running.delete(pod.metadata.uid ?? ''),
    },
  });
  t.teardown(() => {
    sources.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, running, api, state, sources, mirrorApi, warnings };
}

test('the folder: files added, edited and removed start, replace and stop static pods, and their mirrors follow', async (t) => {
  const h = harness(t);
  h.sources.start();
  h.sources.useApi(h.mirrorApi, node);
  writeFileSync(join(h.dir, 'web.yaml'), web);
  writeFileSync(join(h.dir, '.hidden.yaml'), web.replace('web', 'hidden'));
  await waitFor(() => h.running.size === 1 && h.api.size === 1, {
    what: 'the static pod to run and its mirror to exist',
    timeoutMs: 5000,
  });
  const first = [...h.running.values()][0]!;
  t.is(first.metadata.name, 'web-node-1');
  t.is(h.api.get('default/web-node-1')?.metadata.annotations?.['kubernetes.io/config.mirror'], first.metadata.uid);

  writeFileSync(join(h.dir, 'web.yaml'), web.replace('3600', '7'));
  await waitFor(
    () =>
      h.running.size === 1 &&
      !h.running.has(first.metadata.uid!) &&
      h.api.get('default/web-node-1')?.metadata.annotations?.['kubernetes.io/config.mirror'] ===
        [...h.running.keys()][0],
    { what: 'the edited file to replace the pod and its mirror', timeoutMs: 5000 },
  );

  // a user deletes the mirror: it comes back
  const mirror = h.api.get('default/web-node-1')!;
  h.api.delete('default/web-node-1');
  h.sources.forgetApiPod(mirror);
  await waitFor(() => h.api.has('default/web-node-1'), { what: 'the deleted mirror to come back', timeoutMs: 5000 });

  unlinkSync(join(h.dir, 'web.yaml'));
  await waitFor(() => h.running.size === 0 && h.api.size === 0, {
    what: 'the removed file to stop the pod and delete its mirror',
    timeoutMs: 5000,
  });
  t.pass();
});

test('a bad file is skipped with one warning; a duplicate name keeps the first file; mirror writes retried after the API was away', async (t) => {
  const h = harness(t);
  writeFileSync(join(h.dir, 'a-bad.yaml'), 'kind: Pod\nmetadata: {name: x}\n');
  writeFileSync(join(h.dir, 'b-web.yaml'), web);
  writeFileSync(join(h.dir, 'c-web-again.yaml'), web.replace('3600', '9'));
  h.state.failing = true;
  h.sources.start();
  h.sources.useApi(h.mirrorApi, node);
  await waitFor(() => h.running.size === 1, { what: 'the one good pod to run', timeoutMs: 5000 });
  // several rescans pass; each failure is said once
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.deepEqual(h.warnings.filter((w) => /a-bad/.test(w) || /spec.containers/.test(w)).length, 1);
  t.true(
    h.warnings.some((w) =>
      /pod default\/web-node-1 is also defined in .*b-web\.yaml; only the first file is used/.test(w),
    ),
  );
  t.is(h.api.size, 0);
  h.state.failing = false;
  await waitFor(() => h.api.size === 1, { what: 'the mirror to be created once the API answers', timeoutMs: 5000 });
  t.is(h.state.creates, 1);
});
