/**
 * Memory-backed volumes (secret, downwardAPI, projected: the service-account token) live on one
 * tmpfs of the node, mounted on first need and never per pod: a pod start spawns no mount(8) for
 * them. A memory emptyDir keeps a tmpfs of its own (its sizeLimit is that tmpfs's size). Removing
 * a pod removes its folders only; the symlink defences hold below the memory tmpfs as below the
 * pods folder. (mount(8) is a fake here; memory-volumes-real.test.ts mounts for real.)
 */
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Pod } from '../../../kube/corev1.ts';
import type { FieldSources } from '../../../agent/pods/env.ts';
import { noConfigLookup, type ConfigLookup } from '../../../agent/pods/pod-executor.ts';
import { PodVolumes } from '../../../agent/pods/volume-manager.ts';
import { memoryPodsDir, ownTmpfsVolumeDir, planMounts, podDir, volumeDir } from '../../../agent/pods/volumes.ts';
import { c, pod } from '../fixtures.ts';
import { Harness } from '../worker-harness.ts';
import { fakeMounts } from './fake-mounts.ts';

const config: ConfigLookup = {
  ...noConfigLookup,
  secret: async () => ({ password: Buffer.from('s3cret') }),
  configMap: async () => ({ 'app.conf': Buffer.from('mode=fast\n') }),
  serviceAccountToken: async (spec) => `token-of-${spec.pod.uid}`,
};

/** A pod with one volume of each kind the agent writes, as the admission's kube-api-access would add. */
function podWithVolumes(name: string): Pod {
  return pod(
    {
      volumes: [
        { name: 'creds', secret: { secretName: 'db' } },
        { name: 'settings', configMap: { name: 'app-settings' } },
        { name: 'info', downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
        {
          name: 'kube-api-access',
          projected: {
            sources: [
              { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
        { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '16Ki' } },
      ],
      containers: [
        c('app', {
          volumeMounts: [
            { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
            { name: 'creds', mountPath: '/etc/creds/password', subPath: 'password' },
          ],
        }),
      ],
    },
    name,
  );
}

function fieldsOf(h: Harness): FieldSources {
  return { podIP: '', podIPs: [], hostIP: h.settings.nodeIP, nodeName: 'node-1', allocatable: h.settings.allocatable };
}

function setUpHarness(t: { teardown(fn: () => void): void }) {
  const h = new Harness();
  t.teardown(() => h.cleanup());
  const fake = fakeMounts();
  const volumes = new PodVolumes({ settings: h.settings, config, log: pino({ level: 'silent' }), mounts: fake.mounts });
  return { h, fake, volumes };
}

test('the memory-backed volumes of every pod share one tmpfs, mounted once; a memory emptyDir keeps its own, sized', async (t) => {
  const { h, fake, volumes } = setUpHarness(t);
  const web = podWithVolumes('web');
  const api = podWithVolumes('api');
  await Promise.all([volumes.setUp(web, fieldsOf(h)), volumes.setUp(api, fieldsOf(h))]);

  const root = memoryPodsDir(h.settings);
  const scratch = (p: Pod) => volumeDir(h.settings, p.metadata.uid!, 'emptyDir', 'scratch');
  t.deepEqual(
    fake.mountCalls.map((m) => m.dir).sort(),
    [root, scratch(web), scratch(api)].sort(),
    'the memory tmpfs once for both pods, and each memory emptyDir its own',
  );
  t.is(fake.mountCalls.find((m) => m.dir === scratch(web))?.sizeBytes, 16 * 1024);
  t.is(statSync(root).mode & 0o777, 0o750, 'only the agent reads the tmpfs root');

  for (const p of [web, api]) {
    const uid = p.metadata.uid!;
    const access = volumeDir(h.settings, uid, 'projected', 'kube-api-access');
    t.true(access.startsWith(`${root}/${uid}/`), 'the token volume lives on the memory tmpfs');
    t.is(readFileSync(join(access, 'token'), 'utf8'), `token-of-${uid}`);
    t.is(readFileSync(join(access, 'namespace'), 'utf8'), 'default');
    t.is(readFileSync(join(volumeDir(h.settings, uid, 'secret', 'creds'), 'password'), 'utf8'), 's3cret');
    t.is(readFileSync(join(volumeDir(h.settings, uid, 'downwardAPI', 'info'), 'name'), 'utf8'), p.metadata.name!);
    const settings = volumeDir(h.settings, uid, 'configMap', 'settings');
    t.true(settings.startsWith(`${h.settings.podsDir}/`), 'a configMap stays on the disk, as upstream keeps it');
    t.is(readFileSync(join(settings, 'app.conf'), 'utf8'), 'mode=fast\n');
  }
  t.false(existsSync(join(h.settings.podsDir, 'uid-web', 'volumes', 'kubernetes.io~secret')), 'no secret on the disk');
});

test('an agent started again finds the memory tmpfs mounted and does not mount it again', async (t) => {
  const { h, fake, volumes } = setUpHarness(t);
  await volumes.setUp(podWithVolumes('web'), fieldsOf(h));
  const again = new PodVolumes({ settings: h.settings, config, log: pino({ level: 'silent' }), mounts: fake.mounts });
  await again.setUp(podWithVolumes('api'), fieldsOf(h));
  t.is(fake.mountCalls.filter((m) => m.dir === memoryPodsDir(h.settings)).length, 1);
});

test('removing a pod removes its folders on the disk and on the memory tmpfs only; the tmpfs stays for the others', async (t) => {
  const { h, fake, volumes } = setUpHarness(t);
  await volumes.setUp(podWithVolumes('web'), fieldsOf(h));
  await volumes.setUp(podWithVolumes('api'), fieldsOf(h));
  const root = memoryPodsDir(h.settings);
  t.deepEqual(readdirSync(root).sort(), ['uid-api', 'uid-web']);

  t.deepEqual(await volumes.collect(new Set(['uid-api'])), ['uid-web']);
  t.false(existsSync(podDir({ podsDir: root }, 'uid-web')), "the gone pod's memory folder is removed");
  t.false(existsSync(podDir(h.settings, 'uid-web')), 'and its folder on the disk');
  t.true(existsSync(join(volumeDir(h.settings, 'uid-api', 'projected', 'kube-api-access'), 'token')));
  t.true(
    fake.mounted.some((m) => m.mountPoint === root),
    'the memory tmpfs is still mounted',
  );
  t.false(
    fake.mounted.some((m) => m.mountPoint.startsWith(podDir(h.settings, 'uid-web'))),
    "the gone pod's emptyDir tmpfs is unmounted",
  );
  t.deepEqual(volumes.setUpPods, new Set(['uid-api']));
});

test('a container mounts a memory-backed volume from the memory tmpfs, checked inside it; its subPath bind stays in the pods folder', (t) => {
  const h = new Harness();
  t.teardown(() => h.cleanup());
  const web = podWithVolumes('web');
  const [token, password] = planMounts(web, web.spec.containers[0]!, 0, h.settings);
  const root = memoryPodsDir(h.settings);
  t.is(token!.hostPath, volumeDir(h.settings, 'uid-web', 'projected', 'kube-api-access'));
  t.is(token!.insideOf, root);
  t.true(token!.readonly);
  t.is(password!.volumeRoot, volumeDir(h.settings, 'uid-web', 'secret', 'creds'));
  t.true(password!.hostPath.startsWith(`${h.settings.podsDir}/uid-web/volume-subpaths/`));
  t.is(password!.insideOf, h.settings.podsDir);
});

test('a symlink planted on the memory tmpfs in place of a pod folder is refused; nothing is written through it', async (t) => {
  const { h, fake, volumes } = setUpHarness(t);
  // the tmpfs exists already (another pod), and someone swapped a pod's folder for a link
  await volumes.setUp(podWithVolumes('api'), fieldsOf(h));
  const outside = join(h.root, 'outside');
  mkdirSync(outside, { mode: 0o700 });
  symlinkSync(outside, join(memoryPodsDir(h.settings), 'uid-web'));

  await t.throwsAsync(volumes.setUp(podWithVolumes('web'), fieldsOf(h)), {
    message: /MountVolume\.SetUp failed for volume "creds" : .*symbolic link/,
  });
  t.deepEqual(readdirSync(outside), [], 'no secret written where the link points');
  t.is(statSync(outside).mode & 0o777, 0o700);
  t.is(fake.mountCalls.filter((m) => m.dir === memoryPodsDir(h.settings)).length, 1);
});

test('a pod started by an earlier agent (a tmpfs per volume) gets its token refreshed there too, where its running containers read it', async (t) => {
  const h = new Harness();
  t.teardown(() => h.cleanup());
  const fake = fakeMounts();
  let issued = 0;
  const volumes = new PodVolumes({
    settings: h.settings,
    config: { ...config, serviceAccountToken: async () => `token-${++issued}` },
    log: pino({ level: 'silent' }),
    mounts: fake.mounts,
  });
  const web = podWithVolumes('web');
  // what the earlier agent left: the volume's own tmpfs under the pod folder, with an old token in it
  const earlier = ownTmpfsVolumeDir(h.settings, 'uid-web', 'projected', 'kube-api-access');
  await fake.mounts.mountTmpfs(earlier);
  mkdirSync(earlier, { recursive: true });
  await volumes.setUp(web, fieldsOf(h));
  t.is(
    readFileSync(join(volumeDir(h.settings, 'uid-web', 'projected', 'kube-api-access'), 'token'), 'utf8'),
    'token-1',
  );

  await volumes.refresh([web]);
  t.is(readFileSync(join(earlier, 'token'), 'utf8'), 'token-2', 'the copy the running containers see is written');
  t.is(
    readFileSync(join(volumeDir(h.settings, 'uid-web', 'projected', 'kube-api-access'), 'token'), 'utf8'),
    'token-2',
  );
  t.false(
    existsSync(ownTmpfsVolumeDir(h.settings, 'uid-web', 'secret', 'creds')),
    'no folder made on the disk for a volume the earlier agent did not mount there',
  );
});
