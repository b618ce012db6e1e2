/**
 * `kubectl autoscale` with every kubectl release the tests know (1.27 ... 1.35): the autoscaler is
 * created (through autoscaling/v2, which each of them tries first), printed by `kubectl get hpa`
 * with upstream's columns, described with its conditions and events, and acted on by the
 * controller (the Deployment is brought up to --min), then deleted.
 */
import test, { type ExecutionContext } from 'ava';
import { installedKubectlReleases } from '../kubectl-releases.ts';
import { useKubectlBed } from '../kubectl-bed.ts';
import { waitFor } from '../ports.ts';

const bed = useKubectlBed({ horizontalPodAutoscaler: { syncPeriodMs: 300 } });

async function run(t: ExecutionContext, binary: string, ...args: string[]): Promise<string> {
  const result = await bed.kubectl(args, { binary });
  t.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

for (const { release, binary } of installedKubectlReleases()) {
  test.serial(`kubectl ${release} autoscale creates, prints and describes an autoscaler that acts`, async (t) => {
    const name = `web-${release.replace('.', '')}`;
    await run(t, binary, 'create', 'deployment', name, '--image=busybox', '--replicas=1');
    // 1.34 renamed --cpu-percent to --cpu (a percentage or a quantity)
    const target = Number(release.split('.')[1]) >= 34 ? '--cpu=50%' : '--cpu-percent=50';
    const created = await run(t, binary, 'autoscale', 'deployment', name, '--min=2', '--max=5', target);
    t.regex(created, new RegExp(`horizontalpodautoscaler.autoscaling/${name} autoscaled`));
    const table = await run(t, binary, 'get', 'hpa', name);
    const [header, row] = table
      .trim()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    t.deepEqual(header, ['NAME', 'REFERENCE', 'TARGETS', 'MINPODS', 'MAXPODS', 'REPLICAS', 'AGE']);
    t.deepEqual(row!.slice(0, 4), [name, `Deployment/${name}`, 'cpu: <unknown>/50%', '2']);
    t.is(
      await run(t, binary, 'get', 'hpa', name, '-o', 'jsonpath={.spec.metrics[0].resource.target.averageUtilization}'),
      '50',
    );
    await waitFor(`${name} scaled to --min`, async () => {
      const replicas = await bed.kubectl(['get', 'deployment', name, '-o', 'jsonpath={.spec.replicas}'], { binary });
      return replicas.stdout === '2';
    });
    let described = '';
    await waitFor(`${name} described with its rescale`, async () => {
      described = (await bed.kubectl(['describe', 'hpa', name], { binary })).stdout;
      return described.includes('SuccessfulRescale');
    });
    t.regex(described, /Reference:\s+Deployment\/web-/);
    t.regex(described, /Min replicas:\s+2/);
    t.regex(described, /Max replicas:\s+5/);
    t.regex(described, /AbleToScale\s+True\s+Succeeded/);
    t.regex(described, /New size: 2; reason: Current number of replicas below Spec.MinReplicas/);
    await run(t, binary, 'delete', 'hpa', name);
    await run(t, binary, 'delete', 'deployment', name);
  });

  test.serial(
    `kubectl ${release} applies, patches and server-side applies an autoscaling/v2 manifest, and explains it`,
    async (t) => {
      const name = `applied-${release.replace('.', '')}`;
      const manifest = {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
          maxReplicas: 4,
          metrics: [
            { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
          ],
          behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
        },
      };
      const applied = await run(t, binary, 'apply', '-f', bed.file(`${name}.json`, JSON.stringify(manifest)));
      t.regex(applied, new RegExp(`horizontalpodautoscaler.autoscaling/${name} created`));
      const policies = await run(
        t,
        binary,
        'get',
        'hpa',
        name,
        '-o',
        'jsonpath={.spec.behavior.scaleDown.policies[0].type}',
      );
      t.is(policies, 'Percent', 'behavior rules defaulted as upstream');
      const unknown = await bed.kubectl(
        [
          'apply',
          '-f',
          bed.file(`${name}-bad.json`, JSON.stringify({ ...manifest, spec: { ...manifest.spec, maxReplica: 3 } })),
        ],
        { binary },
      );
      t.not(unknown.code, 0);
      t.regex(unknown.stderr, /unknown field "spec.maxReplica"/);
      await run(t, binary, 'patch', 'hpa', name, '-p', '{"spec":{"maxReplicas":6}}');
      t.is(await run(t, binary, 'get', 'hpa', name, '-o', 'jsonpath={.spec.maxReplicas}'), '6');
      const serverSide = { ...manifest, spec: { ...manifest.spec, maxReplicas: 8 } };
      await run(
        t,
        binary,
        'apply',
        '--server-side',
        '--force-conflicts',
        '-f',
        bed.file(`${name}-ssa.json`, JSON.stringify(serverSide)),
      );
      t.is(await run(t, binary, 'get', 'hpa', name, '-o', 'jsonpath={.spec.maxReplicas}'), '8');
      const explained = await run(t, binary, 'explain', 'hpa.spec.behavior.scaleDown');
      t.regex(explained, /stabilizationWindowSeconds/);
      await run(t, binary, 'delete', 'hpa', name);
    },
  );
}
