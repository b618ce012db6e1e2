/**
 * `bosun reset --cgroup-root`: the agent's cgroup root, whose kubepods subtree reset removes. A root
 * that is relative or climbs out of the hierarchy is refused with one line and exit code 2, before
 * reset touches anything. Runs the real bin/bosun.
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupRootProblem } from '../../agent/pods/pod-cgroups.ts';
import { run } from '../helpers/run.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const scratch = mkdtempSync(join(tmpdir(), `bosun-reset-cg-${process.pid}-`));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

test('a cgroup root must be absolute and must not hold ., .. or empty segments', (t) => {
  for (const accepted of ['/', '/bosun', '/bosun-sandbox/bsn1/node-1', '/bosun/', '/kubepods.slice'])
    t.is(cgroupRootProblem(accepted), undefined, accepted);
  t.is(cgroupRootProblem(''), 'must be an absolute cgroup path such as / or /bosun');
  t.is(cgroupRootProblem('bosun'), 'must be an absolute cgroup path such as / or /bosun');
  for (const refused of ['/..', '/a/../../etc', '/a/./b', '/a//b', '/a/..'])
    t.is(cgroupRootProblem(refused), "must not hold '.', '..' or empty segments", refused);
  t.is(cgroupRootProblem('/a\nb'), 'must not hold NUL or newline characters');
});

for (const [root, why] of [
  ['../..', 'must be an absolute cgroup path such as / or /bosun'],
  ['/kubepods/../..', "must not hold '.', '..' or empty segments"],
] as const) {
  test(`reset --cgroup-root ${root}: one line, exit 2, nothing removed`, async (t) => {
    const dir = join(scratch, root.replaceAll(/[./]/g, '_'));
    const kept = join(dir, 'etc', 'agent.kubeconfig');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(kept, 'kept');
    const result = await run(
      [
        bosun,
        'reset',
        '--force',
        '--cgroup-root',
        root,
        '--config-dir',
        join(dir, 'etc'),
        '--data-dir',
        join(dir, 'lib'),
      ],
      { timeoutMs: 30_000 },
    );
    t.is(result.code, 2, result.stderr);
    t.is(result.stdout, '');
    t.is(result.stderr, `bosun: --cgroup-root ${JSON.stringify(root)} ${why}\n`);
    t.true(existsSync(kept), 'reset removed nothing');
  });
}

test('reset --help names --cgroup-root and its default', async (t) => {
  const help = await run([bosun, 'reset', '--help'], { timeoutMs: 30_000 });
  t.is(help.code, 0);
  t.regex(
    help.stdout,
    /--cgroup-root\s+The agent's --cgroup-root: its pods' cgroups under\s+<cgroup-root>\/kubepods are removed\s+\[string\] \[default: "\/"\]/,
  );
});

test('bosun agent refuses a climbing --cgroup-root with the same rule, before it starts', async (t) => {
  const result = await run([bosun, 'agent', '--cgroup-root', '/kubepods/../..', '--kubeconfig', '/nonexistent']);
  t.is(result.code, 2);
  t.is(result.stderr, `bosun: --cgroup-root "/kubepods/../.." must not hold '.', '..' or empty segments\n`);
});
