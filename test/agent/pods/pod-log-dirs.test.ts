/** Pod log folders of gone pods are removed; those of known pods and foreign names stay. */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podUidOfLogDir, removeLogDirsOfGonePods } from '../../../agent/pods/pod-log-dirs.ts';

test('a log folder name gives its pod UID only in the <ns>_<name>_<uid> form', (t) => {
  t.is(podUidOfLogDir('default_web-1_0b6f5c2e-1111-2222-3333-444455556666'), '0b6f5c2e-1111-2222-3333-444455556666');
  t.is(podUidOfLogDir('lost+found'), undefined);
  t.is(podUidOfLogDir('a_b'), undefined);
  t.is(podUidOfLogDir('a__c'), undefined);
});

test('folders of pods not kept are removed with their files', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bosun-podlogs-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const name of ['default_kept_u1', 'default_gone_u2', 'other']) {
    mkdirSync(join(root, name, 'app'), { recursive: true });
    writeFileSync(join(root, name, 'app', '0.log'), 'line\n');
  }
  t.deepEqual(await removeLogDirsOfGonePods(root, new Set(['u1'])), ['default_gone_u2']);
  t.true(existsSync(join(root, 'default_kept_u1', 'app', '0.log')));
  t.true(existsSync(join(root, 'other')), 'a folder not named like a pod log folder is not ours to remove');
  t.deepEqual(await removeLogDirsOfGonePods(join(root, 'missing'), new Set()), []);
});
