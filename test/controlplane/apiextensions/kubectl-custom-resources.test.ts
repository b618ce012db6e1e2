/**
 * Custom resources driven by every kubectl release the tests know (1.27 ... 1.35): apply a
 * definition and wait for it to be established, apply objects, print them with their columns,
 * watch them, explain their schema, patch them (merge and JSON; strategic merge is refused),
 * scale them, see CEL rules refuse a change, read a two-version kind in both versions, find them
 * in `kubectl get all`, and delete one that a finalizer holds.
 */
import test, { type ExecutionContext } from 'ava';
import { installedKubectlReleases } from '../kubectl-releases.ts';
import { useKubectlBed } from '../kubectl-bed.ts';
import { backupGroup, backupSchedules, widgetGroup, widgets } from './fixtures.ts';
import { watchLines as watchUntil } from './kubectl-watch.ts';

const bed = useKubectlBed({ controllers: false });

const watchLines = (binary: string, args: readonly string[], last: string, during: () => Promise<void>) =>
  watchUntil(bed.server.server.kubeconfigPath, binary, args, last, during);

async function run(t: ExecutionContext, binary: string, ...args: string[]): Promise<string> {
  const result = await bed.kubectl(args, { binary });
  t.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const schedule = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: `${backupGroup}/v1`,
    kind: 'BackupSchedule',
    metadata: { name, ...extra },
    spec: { schedule: '0 3 * * *', target: `vol-${name}` },
  });

for (const { release, binary } of installedKubectlReleases()) {
  test.serial(
    `kubectl ${release} applies, prints, watches, explains, patches, scales and deletes custom resources`,
    async (t) => {
      const id = `k${release.replace('.', '')}`;
      const crdFile = bed.file('backupschedules.json', JSON.stringify(backupSchedules));
      await run(t, binary, 'apply', '-f', crdFile);
      await run(
        t,
        binary,
        'wait',
        '--for',
        'condition=established',
        '--timeout=20s',
        `crd/${backupSchedules.metadata.name}`,
      );
      const created = await run(t, binary, 'apply', '-f', bed.file(`${id}.json`, schedule(id)));
      t.regex(created, new RegExp(`backupschedule.${backupGroup}/${id} created`));

      const table = await run(t, binary, 'get', 'bks', id);
      t.regex(table, /^NAME\s+SCHEDULE\s+WORKERS\s+AGE\n/);
      t.regex(table, new RegExp(`^${id}\\s+0 3 \\* \\* \\*\\s+1\\s+\\d+s`, 'm'));
      t.regex(await run(t, binary, 'get', 'bks', id, '-o', 'wide'), /SCHEDULE\s+WORKERS\s+LAST\s+AGE/);

      const watched = await watchLines(
        binary,
        ['get', 'bks', id, '-w', '-o', 'custom-columns=NAME:.metadata.name,WORKERS:.spec.workers'],
        `${id} 2`,
        async () => {
          await run(t, binary, 'patch', 'bks', id, '--type=merge', '-p', '{"spec":{"workers":2}}');
        },
      );
      // the object as it was, then as patched, and nothing else
      t.deepEqual(watched, ['NAME WORKERS', `${id} 1`, `${id} 2`]);

      const explained = await run(t, binary, 'explain', 'backupschedule.spec.target');
      t.regex(explained, /The volume to back up\./);

      await run(
        t,
        binary,
        'patch',
        'bks',
        id,
        '--type=json',
        '-p',
        '[{"op":"replace","path":"/spec/workers","value":3}]',
      );
      const strategic = await bed.kubectl(['patch', 'bks', id, '-p', '{"spec":{"workers":1}}'], { binary });
      t.not(strategic.code, 0);
      t.regex(strategic.stderr, /application\/strategic-merge-patch\+json is not supported/);

      const refused = await bed.kubectl(['patch', 'bks', id, '--type=merge', '-p', '{"spec":{"workers":9}}'], {
        binary,
      });
      t.not(refused.code, 0);
      t.regex(refused.stderr, /spec: Invalid value: "object": workers may not exceed maxWorkers/);

      t.regex(await run(t, binary, 'scale', `bks/${id}`, '--replicas=4'), /scaled/);
      t.is(await run(t, binary, 'get', 'bks', id, '-o', 'jsonpath={.spec.workers}'), '4');

      t.regex(await run(t, binary, 'get', 'all'), new RegExp(`backupschedule\\.${backupGroup}/${id}`));

      await run(t, binary, 'apply', '-f', bed.file('widgets.json', JSON.stringify(widgets)));
      await run(t, binary, 'wait', '--for', 'condition=established', '--timeout=20s', `crd/${widgets.metadata.name}`);
      const widget = JSON.stringify({
        apiVersion: `${widgetGroup}/v1beta1`,
        kind: 'Widget',
        metadata: { name: id },
        spec: { size: 1 },
      });
      await run(t, binary, 'apply', '-f', bed.file(`${id}-widget.json`, widget));
      t.is(
        await run(t, binary, 'get', `widgets.v1beta1.${widgetGroup}`, id, '-o', 'jsonpath={.apiVersion}'),
        `${widgetGroup}/v1beta1`,
      );
      t.is(
        await run(t, binary, 'get', `widgets.v1.${widgetGroup}`, id, '-o', 'jsonpath={.apiVersion}'),
        `${widgetGroup}/v1`,
      );

      const held = `${id}-held`;
      await run(
        t,
        binary,
        'apply',
        '-f',
        bed.file(`${held}.json`, schedule(held, { finalizers: ['ops.bosun.test/keep'] })),
      );
      await run(t, binary, 'delete', 'bks', held, '--wait=false');
      t.truthy(await run(t, binary, 'get', 'bks', held, '-o', 'jsonpath={.metadata.deletionTimestamp}'));
      await run(t, binary, 'patch', 'bks', held, '--type=merge', '-p', '{"metadata":{"finalizers":null}}');
      const gone = await bed.kubectl(['get', 'bks', held], { binary });
      t.regex(gone.stderr, /NotFound|not found/);
      await run(t, binary, 'delete', 'bks', id);
    },
  );
}

test.serial('deleting the definition with kubectl deletes its objects and then the definition', async (t) => {
  await bed.ok(t, 'apply', '-f', bed.file('backupschedules.json', JSON.stringify(backupSchedules)));
  await bed.ok(t, 'wait', '--for', 'condition=established', '--timeout=20s', `crd/${backupSchedules.metadata.name}`);
  await bed.ok(t, 'apply', '-f', bed.file('last.json', schedule('last')));
  await bed.ok(t, 'delete', 'crd', backupSchedules.metadata.name, '--timeout=20s');
  const gone = await bed.kubectl(['get', 'crd', backupSchedules.metadata.name]);
  t.regex(gone.stderr, /NotFound|not found/);
  const served = await bed.kubectl(['get', `backupschedules.${backupGroup}`]);
  t.not(served.code, 0, 'the kind is no longer served');
});
