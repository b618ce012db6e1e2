/**
 * fsGroup on a persistent volume folder (a real temp folder; the tests run as root): every file and
 * folder gets the group and group read-write, folders the setgid bit; links are not followed;
 * OnRootMismatch leaves a volume whose root already matches alone.
 */
import test from 'ava';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyFsGroup } from '../../agent/pods/volumes/fs-group.ts';

const base = mkdtempSync(join(tmpdir(), 'bosun-fsgroup-'));
test.after.always(() => rmSync(base, { recursive: true, force: true }));

test('every file and folder gets the group, group read-write and setgid folders; links stay untouched', async (t) => {
  const root = join(base, 'always');
  mkdirSync(join(root, 'sub'), { recursive: true, mode: 0o700 });
  writeFileSync(join(root, 'sub', 'file'), 'x', { mode: 0o600 });
  const outside = join(base, 'outside');
  writeFileSync(outside, 'not mine', { mode: 0o600 });
  symlinkSync(outside, join(root, 'link'));
  t.true(await applyFsGroup(root, 2000, undefined));
  for (const path of [root, join(root, 'sub')]) {
    const info = statSync(path);
    t.is(info.gid, 2000, path);
    t.is(info.mode & 0o2070, 0o2070, path);
  }
  const file = statSync(join(root, 'sub', 'file'));
  t.is(file.gid, 2000);
  t.is(file.mode & 0o777, 0o660);
  const target = statSync(outside);
  t.is(target.gid, 0, 'the link was not followed');
  t.is(target.mode & 0o777, 0o600);
  t.true(lstatSync(join(root, 'link')).isSymbolicLink());
});

test('OnRootMismatch skips a volume whose root already has the group and bits', async (t) => {
  const root = join(base, 'on-mismatch');
  mkdirSync(root);
  writeFileSync(join(root, 'file'), 'x', { mode: 0o600 });
  t.true(await applyFsGroup(root, 3000, 'OnRootMismatch'));
  chmodSync(join(root, 'file'), 0o600);
  t.false(await applyFsGroup(root, 3000, 'OnRootMismatch'), 'root already matches: no walk');
  t.is(statSync(join(root, 'file')).mode & 0o777, 0o600);
  t.true(await applyFsGroup(root, 3001, 'OnRootMismatch'), 'another group: walked');
});
