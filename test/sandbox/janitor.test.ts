/**
 * The janitor removes what a killed test run left by the sandbox's names: here a process inside
 * the sandbox's cgroup subtree whose command line and root say nothing of the sandbox's folder
 * (as the processes of a system container a test booted), which must go with its cgroup.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostCgroupMounts } from '../../agent/pods/pod-cgroups.ts';
import { removeBedLeftovers } from '../../sandbox/janitor.ts';
import { sandboxCgroupRoot, sandboxRoots } from '../../sandbox/names.ts';
import { waitFor } from '../helpers/wait.ts';

test('a process in the sandbox cgroup subtree is killed and its cgroup removed', async (t) => {
  const mounts = await hostCgroupMounts();
  const memory = mounts.find((mount) => mount.endsWith('/memory'));
  if (process.getuid?.() !== 0 || memory === undefined) {
    t.log('SKIP: needs root and a cgroup v1 memory hierarchy');
    t.pass();
    return;
  }
  const id = `jt${process.pid}`;
  const stateDir = join(sandboxRoots.tests, id);
  mkdirSync(stateDir, { recursive: true });
  const cgroup = join(memory, sandboxCgroupRoot(id), 'machine');
  mkdirSync(cgroup, { recursive: true });
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    // what a failing run leaves: the process, its cgroups, the folder
    child.kill('SIGKILL');
    await exited;
    for (const dir of [cgroup, join(memory, sandboxCgroupRoot(id))])
      try {
        rmdirSync(dir);
      } catch {
        // removed already
      }
    rmSync(stateDir, { recursive: true, force: true });
  });
  writeFileSync(join(cgroup, 'cgroup.procs'), String(child.pid));

  await removeBedLeftovers({ id, ownerPid: 0, netns: [], stateDir });

  await waitFor(async () => child.exitCode !== null || child.signalCode !== null, {
    what: 'the process in the sandbox cgroup killed',
    timeoutMs: 3_000,
    intervalMs: 50,
  }).catch(() => undefined);
  t.is(child.signalCode, 'SIGKILL');
  await exited;
  t.false(existsSync(join(memory, sandboxCgroupRoot(id))));
  t.false(existsSync(stateDir));
});
