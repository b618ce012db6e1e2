/**
 * Pod-level cgroups: the pod root per driver, which mounts count as cgroup hierarchies, and the
 * sweep that removes the folders of pods that are gone (on plain folders standing in for cgroupfs:
 * rmdir refuses a folder with something in it, as the kernel refuses a cgroup with children).
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cgroupMounts,
  listPodCgroups,
  podCgroupRoot,
  removeCgroupTree,
  sweepPodCgroups,
} from '../../../agent/pods/pod-cgroups.ts';
import { chooseCgroupDriver } from '../../../agent/pods/cgroup-driver.ts';
import { podCgroupParent } from '../../../agent/pods/sandbox-config.ts';

test('the pod root follows the driver and --cgroup-root as the kubelet names it', (t) => {
  t.is(podCgroupRoot('cgroupfs', '/'), '/kubepods');
  t.is(podCgroupRoot('cgroupfs', '/bosun-sandbox/x/node-1/'), '/bosun-sandbox/x/node-1/kubepods');
  t.is(podCgroupRoot('systemd', '/'), 'kubepods.slice');
  t.is(podCgroupRoot('systemd', '/system.slice'), 'system-kubepods.slice');
  // and the sandbox's cgroup parent is built on it
  t.is(
    podCgroupParent({ cgroupRoot: podCgroupRoot('cgroupfs', '/'), cgroupDriver: 'cgroupfs' }, 'u1', 'BestEffort'),
    '/kubepods/besteffort/podu1',
  );
  t.is(
    podCgroupParent({ cgroupRoot: podCgroupRoot('systemd', '/'), cgroupDriver: 'systemd' }, 'u-1', 'Burstable'),
    'kubepods-burstable-podu_1.slice',
  );
});

const hybrid = [
  '25 24 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw',
  '27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd',
  '30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory',
  '31 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct',
].join('\n');

test('on a hybrid host only the v1 hierarchies hold pod cgroups; on a unified host the one cgroup2 mount does', (t) => {
  t.deepEqual(cgroupMounts(hybrid), ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/cpu,cpuacct']);
  t.deepEqual(cgroupMounts('35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate'), [
    '/sys/fs/cgroup',
  ]);
  t.deepEqual(cgroupMounts('40 1 0:5 / /mnt/with\\040space rw - cgroup cgroup rw,pids'), ['/mnt/with space']);
  t.deepEqual(cgroupMounts(''), []);
});

test('the driver comes from the runtime when it says, else from the host', (t) => {
  t.is(chooseCgroupDriver({ fromRuntime: 'SYSTEMD', unifiedHierarchy: false, systemdBooted: false }).driver, 'systemd');
  t.is(chooseCgroupDriver({ fromRuntime: 'CGROUPFS', unifiedHierarchy: true, systemdBooted: true }).driver, 'cgroupfs');
  t.is(chooseCgroupDriver({ fromRuntime: undefined, unifiedHierarchy: true, systemdBooted: true }).driver, 'systemd');
  t.is(chooseCgroupDriver({ fromRuntime: undefined, unifiedHierarchy: true, systemdBooted: false }).driver, 'cgroupfs');
  t.is(chooseCgroupDriver({ fromRuntime: undefined, unifiedHierarchy: false, systemdBooted: true }).driver, 'cgroupfs');
});

test('the sweep removes empty folders of pods that are gone and keeps live and busy ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-cg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const mounts = [join(dir, 'memory'), join(dir, 'cpu')];
  const root = '/kubepods';
  for (const mount of mounts) {
    mkdirSync(join(mount, root, 'podlive'), { recursive: true });
    mkdirSync(join(mount, root, 'burstable', 'podgone'), { recursive: true });
    mkdirSync(join(mount, root, 'besteffort', 'podbusy', 'container-1'), { recursive: true });
  }
  t.is((await listPodCgroups(mounts, root)).length, 6);
  const removed = await sweepPodCgroups(mounts, root, new Set(['live']));
  t.deepEqual(removed.sort(), mounts.map((m) => join(m, root, 'burstable', 'podgone')).sort());
  for (const mount of mounts) {
    t.true(existsSync(join(mount, root, 'podlive')));
    t.true(existsSync(join(mount, root, 'besteffort', 'podbusy')), 'a pod cgroup with a container in it stays');
  }
  // a missing hierarchy or root is nothing to sweep, not an error
  t.deepEqual(await sweepPodCgroups([join(dir, 'nowhere')], root, new Set()), []);

  const outcome = await removeCgroupTree(mounts, root);
  for (const mount of mounts) t.false(existsSync(join(mount, root)));
  t.is(outcome.removed.length, 2 * 6, 'root, three tiers, two pods in each of two hierarchies');
  t.deepEqual(outcome.left, []);
  t.is(outcome.busyRetries, 0);
});

test('a folder that cannot be removed is reported as left, with the folders above it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-cg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // a file stands in for a process: rmdir refuses the folder (ENOTEMPTY, not EBUSY: no waiting)
  mkdirSync(join(dir, 'memory', 'kubepods', 'podx'), { recursive: true });
  writeFileSync(join(dir, 'memory', 'kubepods', 'podx', 'tasks'), '');
  const outcome = await removeCgroupTree([join(dir, 'memory')], '/kubepods', 10_000);
  t.deepEqual(outcome.left, [join(dir, 'memory', 'kubepods', 'podx'), join(dir, 'memory', 'kubepods')]);
  t.deepEqual(outcome.removed, []);
  t.is(outcome.busyRetries, 0);
});
