/**
 * Pod cgroups on the real kernel, with a pod run by the real containerd of a test-bed node under the
 * bed's own cgroup root: the folder runc makes for the pod in every hierarchy outlives the pod, the
 * agent's sweep keeps it while a process is still inside (the kernel answers EBUSY) and removes it in
 * every hierarchy once that process is gone; the tree removal that `bosun reset` uses waits for a
 * process that is on its way out instead of leaving its cgroup behind.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBed, bedImages, type Bed, type BedNode } from '../../bed/index.ts';
import { CriClient } from '../../../cri/client.ts';
import { criLabel, managedByValue, sandboxPodUids } from '../../../agent/pods/cri-labels.ts';
import { hostCgroupMounts, podCgroupRoot, removeCgroupTree, sweepPodCgroups } from '../../../agent/pods/pod-cgroups.ts';
import type { PodSandboxConfig } from '../../../cri/types.ts';

let bed: Bed | undefined;
let node: BedNode;
let cri: CriClient | undefined;
let mounts: string[] = [];
const strays: ChildProcess[] = [];

test.before(async () => {
  bed = await createBed({ nodes: 1 });
  node = bed.nodes[0]!;
  cri = new CriClient(node.criEndpoint);
  mounts = await hostCgroupMounts();
});

test.after.always(async () => {
  for (const stray of strays) if (stray.exitCode === null && stray.signalCode === null) stray.kill('SIGKILL');
  cri?.close();
  // the bed removes its cgroup subtree (and with it whatever a failed step left under it)
  await bed?.destroy();
});

/** A process of this test (not of any pod), moved into `cgroup` in every hierarchy. */
function strayIn(cgroup: string): ChildProcess {
  const stray = spawn('sleep', ['600'], { stdio: 'ignore' });
  strays.push(stray);
  const pid = String(stray.pid);
  for (const mount of mounts) writeFileSync(join(mount, cgroup, 'cgroup.procs'), pid);
  return stray;
}

async function killAndWait(stray: ChildProcess): Promise<void> {
  const gone = new Promise((resolve) => stray.once('exit', resolve));
  stray.kill('SIGKILL');
  await gone;
}

/**
 * Makes `cgroup` in every hierarchy, one level at a time; a new cpuset cgroup starts with no CPUs
 * and no memory nodes (the kernel then refuses every process), so each level gets its parent's.
 */
function makeCgroup(cgroup: string): void {
  for (const mount of mounts) {
    let path = mount;
    for (const part of cgroup.split('/').filter(Boolean)) {
      const parent = path;
      path = join(path, part);
      if (existsSync(path)) continue;
      mkdirSync(path);
      for (const file of ['cpuset.cpus', 'cpuset.mems'])
        if (existsSync(join(parent, file))) writeFileSync(join(path, file), readFileSync(join(parent, file)));
    }
  }
}

const inEveryHierarchy = (cgroup: string) => mounts.filter((mount) => existsSync(join(mount, cgroup)));

test.serial(
  "a deleted pod's cgroup stays while a process is inside and goes from every hierarchy once it is gone",
  async (t) => {
    t.true(mounts.length > 0, 'the host has cgroup hierarchies');
    const podRoot = podCgroupRoot('cgroupfs', node.cgroupRoot);
    const uid = `cg-${process.pid}`;
    const podCgroup = `${podRoot}/besteffort/pod${uid}`;
    const config: PodSandboxConfig = {
      metadata: { name: 'cgroups', namespace: 'default', uid, attempt: 0 },
      logDirectory: join(node.podLogDir, `default_cgroups_${uid}`),
      labels: { [criLabel.podUid]: uid, [criLabel.managedBy]: managedByValue },
      linux: { cgroupParent: podCgroup },
    };
    const sandbox = await cri!.runPodSandbox(config, undefined, { timeoutMs: 60_000 });
    const container = await cri!.createContainer(
      sandbox,
      { metadata: { name: 'sleeper' }, image: { image: bedImages.busybox }, command: ['sleep', '3600'] },
      config,
      { timeoutMs: 60_000 },
    );
    await cri!.startContainer(container, { timeoutMs: 60_000 });
    t.deepEqual(inEveryHierarchy(podCgroup), mounts, 'runc made the pod folder in every hierarchy');
    t.deepEqual(await sweepPodCgroups(mounts, podRoot, await sandboxPodUids(cri!)), [], 'a live pod keeps it');

    const stray = strayIn(podCgroup);
    await cri!.stopPodSandbox(sandbox, { timeoutMs: 60_000 });
    await cri!.removePodSandbox(sandbox, { timeoutMs: 60_000 });
    t.false((await sandboxPodUids(cri!)).has(uid), 'the pod is gone from the runtime');
    t.deepEqual(inEveryHierarchy(podCgroup), mounts, 'runc left the pod folder behind in every hierarchy');
    const procs = readFileSync(join(mounts[0]!, podCgroup, 'cgroup.procs'), 'utf8').trim();
    t.is(procs, String(stray.pid), 'only the stray process is left inside');

    t.deepEqual(await sweepPodCgroups(mounts, podRoot, await sandboxPodUids(cri!)), [], 'busy: nothing removed');
    t.deepEqual(inEveryHierarchy(podCgroup), mounts, 'the busy folder stays in every hierarchy');

    await killAndWait(stray);
    const removed = await sweepPodCgroups(mounts, podRoot, await sandboxPodUids(cri!));
    t.deepEqual(removed.sort(), mounts.map((mount) => join(mount, podCgroup)).sort());
    t.deepEqual(inEveryHierarchy(podCgroup), [], 'gone from every hierarchy');
  },
);

test.serial('removing the pod root waits for a process that is on its way out, in every hierarchy', async (t) => {
  const podRoot = podCgroupRoot('cgroupfs', node.cgroupRoot);
  const busy = `${podRoot}/burstable/podbusy`;
  makeCgroup(busy);
  const stray = strayIn(busy);
  // the process leaves only after the removal has met its cgroup busy at least once
  const killer = setTimeout(() => stray.kill('SIGKILL'), 500);
  t.teardown(() => clearTimeout(killer));
  const started = performance.now();
  const outcome = await removeCgroupTree(mounts, podRoot, 10_000);
  const waitedMs = Math.round(performance.now() - started);
  t.log(`removal waited ${waitedMs} ms, ${outcome.busyRetries} busy retries`);
  t.deepEqual(outcome.left, [], 'nothing left behind');
  t.true(outcome.busyRetries > 0, 'the kernel refused the busy folder at first (EBUSY) and removal tried again');
  t.deepEqual(inEveryHierarchy(podRoot), [], 'the pod root is gone from every hierarchy');

  // without a wait, a folder that stays busy is reported, not silently kept
  makeCgroup(busy);
  const stubborn = strayIn(busy);
  const refused = await removeCgroupTree(mounts, podRoot, 0);
  t.deepEqual(
    refused.left.sort(),
    mounts.flatMap((m) => [join(m, busy), join(m, podRoot, 'burstable'), join(m, podRoot)]).sort(),
  );
  await killAndWait(stubborn);
  t.deepEqual((await removeCgroupTree(mounts, podRoot, 0)).left, []);
});
