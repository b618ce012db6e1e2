/**
 * kubectl's own generators for PriorityClasses and PodDisruptionBudgets (`kubectl create
 * priorityclass`, `kubectl create pdb`) and their `get` tables, with the machine's kubectl, 1.27 and
 * 1.35 (newer ones send protobuf bodies).
 */
import test from 'ava';
import { useKubectlBed } from './kubectl-bed.ts';
import { installedKubectlReleases } from './kubectl-releases.ts';

const bed = useKubectlBed({ controllers: false });
const releases = [{ release: 'machine', binary: 'kubectl' }, ...installedKubectlReleases(['1.27', '1.35'])];

test.serial('kubectl create priorityclass and create pdb, then get them', async (t) => {
  for (const { release, binary } of releases) {
    const tag = release.replace('.', '-');
    const run = async (...args: string[]) => {
      const result = await bed.kubectl(args, { binary });
      t.is(result.code, 0, `${release} kubectl ${args.join(' ')}: ${result.stderr}`);
      return result.stdout;
    };
    await run('create', 'priorityclass', `batch-${tag}`, '--value=500', '--preemption-policy=Never');
    t.regex(await run('get', 'pc', `batch-${tag}`), new RegExp(`batch-${tag}\\s+500\\s+false\\s+\\S+\\s+Never`));
    await run('create', 'pdb', `web-${tag}`, '--selector=app=web', '--min-available=50%');
    t.regex(await run('get', 'pdb', `web-${tag}`), new RegExp(`web-${tag}\\s+50%\\s+N/A\\s+0\\s`));
    const refused = await bed.kubectl(['create', 'priorityclass', `system-${tag}`, '--value=5'], { binary });
    t.not(refused.code, 0, release);
    t.regex(refused.stderr, /reserved for system use only/, release);
  }
});
