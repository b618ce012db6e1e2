/**
 * Host paths built from pod fields the API server should have refused (a server bypassed, a
 * datastore edited by hand): the path builders refuse every hostile name, the on-disk check
 * refuses a symlink planted below the pods folder, and a pod worker on the fake runtime refuses
 * such a pod with a Warning event before anything is made on the host.
 */
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Pod, Volume } from '../../../kube/corev1.ts';
import { podPathProblems, UnsafePodPathError } from '../../../agent/pods/path-parts.ts';
import {
  ownTmpfsVolumeDir,
  podDir,
  volumeDir,
  terminationMessageFile,
  subPathBindPath,
} from '../../../agent/pods/volumes.ts';
import { podLogDirectory } from '../../../agent/pods/sandbox-config.ts';
import { checkInsideParent } from '../../../agent/pods/volumes/inside-parent.ts';
import { PodVolumes } from '../../../agent/pods/volume-manager.ts';
import { noConfigLookup } from '../../../agent/pods/pod-executor.ts';
import type { PodEvents } from '../../../agent/events/pod-events.ts';
import { Harness } from '../worker-harness.ts';
import { c, pod } from '../fixtures.ts';

const hostileNames = [
  '..',
  '../x',
  '../../etc',
  'a/b',
  '/etc',
  'a\0b',
  'a\nb',
  'x'.repeat(300),
  'caf\u00e9',
  '.',
  '',
  'UPPER',
  'a_b',
];
const settings = { podsDir: '/var/lib/bosun/pods', podLogRoot: '/var/log/pods' };
const fields = {
  podIP: '10.244.1.5',
  podIPs: ['10.244.1.5'],
  hostIP: '192.0.2.10',
  nodeName: 'node-1',
  allocatable: { cpuMilli: 2000, memoryBytes: 2 ** 30 },
};

function withVolume(volume: Volume, uid = 'u-1'): Pod {
  const base = pod({
    volumes: [volume],
    containers: [c('app', { volumeMounts: [{ name: volume.name, mountPath: '/data' }] })],
  });
  return { ...base, metadata: { ...base.metadata, uid } };
}

for (const name of hostileNames) {
  test(`path builders refuse ${JSON.stringify(name.length > 20 ? `${name.slice(0, 20)}…` : name)}`, (t) => {
    t.throws(() => volumeDir(settings, 'u-1', 'emptyDir', name), { instanceOf: UnsafePodPathError });
    // memory-backed kinds live on the node's memory tmpfs, and older agents' folders under the pod
    for (const kind of ['secret', 'downwardAPI', 'projected'] as const) {
      t.throws(() => volumeDir(settings, 'u-1', kind, name), { instanceOf: UnsafePodPathError }, kind);
      t.throws(() => ownTmpfsVolumeDir(settings, 'u-1', kind, name), { instanceOf: UnsafePodPathError }, kind);
      if (name !== 'UPPER')
        t.throws(() => volumeDir(settings, name, kind, 'token'), { instanceOf: UnsafePodPathError }, 'as a UID');
    }
    t.throws(() => subPathBindPath(settings, 'u-1', name, 'app', 0), { instanceOf: UnsafePodPathError });
    t.throws(() => terminationMessageFile(settings, 'u-1', name, 0), { instanceOf: UnsafePodPathError });
    if (name !== 'UPPER') t.throws(() => podDir(settings, name), { instanceOf: UnsafePodPathError }, 'as a UID');
    const named = { ...pod(), metadata: { name, namespace: 'default', uid: 'u-1' } };
    t.throws(() => podLogDirectory(settings, named), { instanceOf: UnsafePodPathError }, 'as a pod name');
    t.true(
      podPathProblems(withVolume({ name, emptyDir: {} })).some((p) =>
        p.startsWith('spec.volumes[0].name: Invalid value: '),
      ),
    );
  });
}

test("a volume name that climbs gets upstream's field error", (t) => {
  t.deepEqual(podPathProblems(withVolume({ name: '../..', emptyDir: {} })), [
    "spec.volumes[0].name: Invalid value: \"../..\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
});

test('file paths of configMap, secret, downwardAPI and projected volumes and subPaths are checked', (t) => {
  const hostile = ['../x', '/etc/passwd', 'a/../../b', '..data', 'a\0b'];
  for (const path of hostile) {
    t.is(
      podPathProblems(withVolume({ name: 'cfg', configMap: { name: 'c', items: [{ key: 'k', path }] } })).length,
      1,
      `configMap ${path}`,
    );
    t.is(
      podPathProblems(withVolume({ name: 'sec', secret: { secretName: 's', items: [{ key: 'k', path }] } })).length,
      1,
      `secret ${path}`,
    );
    t.is(
      podPathProblems(
        withVolume({ name: 'dw', downwardAPI: { items: [{ path, fieldRef: { fieldPath: 'metadata.name' } }] } }),
      ).length,
      1,
      `downwardAPI ${path}`,
    );
    t.is(
      podPathProblems(withVolume({ name: 'pr', projected: { sources: [{ serviceAccountToken: { path } }] } })).length,
      1,
      `projected token ${path}`,
    );
  }
  const climbing = pod({
    volumes: [{ name: 'v', emptyDir: {} }],
    containers: [c('app', { volumeMounts: [{ name: 'v', mountPath: '/m', subPath: '../../etc' }] })],
  });
  t.deepEqual(podPathProblems({ ...climbing, metadata: { ...climbing.metadata, uid: 'u-1' } }), [
    'spec.containers[0].volumeMounts[0].subPath: Invalid value: "../../etc": must not contain \'..\'',
  ]);
  t.deepEqual(podPathProblems(withVolume({ name: 'hp', hostPath: { path: '/srv/../etc' } })), [
    'spec.volumes[0].hostPath.path: Invalid value: "/srv/../etc": must not contain \'..\'',
  ]);
  t.deepEqual(
    podPathProblems(withVolume({ name: 'ok', configMap: { name: 'c', items: [{ key: 'k', path: 'conf/app.yaml' }] } })),
    [],
  );
});

test('a symlink planted below the pods folder is refused, and the volume set-up does not follow it', async (t) => {
  const harness = new Harness();
  t.teardown(() => harness.cleanup());
  const outside = join(harness.root, 'outside');
  mkdirSync(outside, { mode: 0o700 });
  const emptyDirs = join(harness.settings.podsDir, 'u-1', 'volumes', 'kubernetes.io~empty-dir');
  mkdirSync(emptyDirs, { recursive: true });
  symlinkSync(outside, join(emptyDirs, 'data'));
  const target = join(emptyDirs, 'data');
  await t.throwsAsync(checkInsideParent(harness.settings.podsDir, target), {
    instanceOf: UnsafePodPathError,
    message: /symbolic link/,
  });
  await t.throwsAsync(checkInsideParent(harness.settings.podsDir, join(target, 'deeper')), {
    instanceOf: UnsafePodPathError,
  });
  // a whole pod folder swapped for a link
  symlinkSync(outside, join(harness.settings.podsDir, 'u-2'));
  await t.throwsAsync(checkInsideParent(harness.settings.podsDir, join(harness.settings.podsDir, 'u-2', 'volumes')), {
    instanceOf: UnsafePodPathError,
  });
  await t.notThrowsAsync(
    checkInsideParent(harness.settings.podsDir, join(harness.settings.podsDir, 'u-3', 'volumes', 'x')),
    'what does not exist yet is fine',
  );

  // the volume set-up goes through the same check: the outside folder is not opened up
  const volumes = new PodVolumes({
    settings: harness.settings,
    config: noConfigLookup,
    log: pino({ level: 'silent' }),
  });
  await t.throwsAsync(volumes.setUp(withVolume({ name: 'data', emptyDir: {} }), fields), {
    message: /MountVolume\.SetUp failed for volume "data" : .*symbolic link/,
  });
  t.is(statSync(outside).mode & 0o777, 0o700, 'the folder the link points to was not chmodded');
  t.deepEqual(readdirSync(outside), []);
});

test('a pod with a climbing volume name is refused with a Warning event; nothing is made on the host', async (t) => {
  const harness = new Harness();
  t.teardown(() => harness.cleanup());
  const events: string[] = [];
  const recorder = { failedCreateSandbox: (_pod: Pod, message: string) => events.push(message) } as Partial<PodEvents>;
  const hostile = withVolume({ name: '../../../../escape', emptyDir: {} });
  const worker = harness.worker(hostile, {
    events: new Proxy(recorder, {
      get: (target, key) => (target as Record<string | symbol, unknown>)[key] ?? (() => {}),
    }) as PodEvents,
  });
  t.teardown(() => worker.remove());
  await harness.advance(worker, 0);
  await harness.advance(worker, 2_000);
  t.true(events.length > 0, 'a FailedCreatePodSandBox event');
  t.regex(events[0]!, /spec\.volumes\[0\]\.name: Invalid value: "\.\.\/\.\.\/\.\.\/\.\.\/escape"/);
  t.deepEqual(await harness.runtime.listPodSandbox({}), [], 'no sandbox');
  t.deepEqual(await harness.containers(), [], 'no container');
  t.false(existsSync(join(harness.root, 'escape')));
  t.false(existsSync(harness.settings.podsDir) && readdirSync(harness.settings.podsDir).length > 0, 'no pod folder');
  t.false(
    existsSync(harness.settings.podLogRoot) && readdirSync(harness.settings.podLogRoot).length > 0,
    'no log folder',
  );
});
