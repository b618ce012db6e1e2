/**
 * LoadBalancer Services driven by every kubectl release the tests know (1.27 ... 1.35): a Service
 * made by kubectl's own generator gets the nodes' addresses as its EXTERNAL-IP (get, describe), and
 * switching it to ClusterIP with a patch works as upstream (its load-balancer fields dropped).
 */
import test, { type ExecutionContext } from 'ava';
import type { Node } from '../../../kube/corev1.ts';
import { refs } from '../../../kube/resource-ref.ts';
import { waitFor } from '../../helpers/wait.ts';
import { useKubectlBed } from '../kubectl-bed.ts';
import { installedKubectlReleases } from '../kubectl-releases.ts';

const bed = useKubectlBed();
const addresses: Record<string, string> = { 'node-a': '10.12.0.1', 'node-b': '10.12.0.2' };

// the bed's nodes have no addresses; give them some once, before the first test needs them
let addressed: Promise<void> | undefined;
function addressNodes(): Promise<void> {
  addressed ??= (async () => {
    for (const [name, address] of Object.entries(addresses)) {
      const node = await bed.client.get<Node>(refs.nodes, name);
      await bed.client.updateStatus<Node>(refs.nodes, {
        ...node,
        status: { ...node.status, addresses: [{ type: 'InternalIP', address }] },
      });
    }
  })();
  return addressed;
}

async function run(t: ExecutionContext, binary: string, ...args: string[]): Promise<string> {
  const result = await bed.kubectl(args, { binary });
  t.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

installedKubectlReleases().forEach(({ release, binary }, i) => {
  test.serial(
    `kubectl ${release}: a LoadBalancer Service shows the nodes as its EXTERNAL-IP and switches back to ClusterIP`,
    async (t) => {
      await addressNodes();
      const name = `lb${release.replace('.', '')}`;
      await run(t, binary, 'create', 'service', 'loadbalancer', name, `--tcp=${9000 + i}:8080`);
      await waitFor(
        async () => {
          const r = await bed.kubectl(['get', 'service', name, '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}'], {
            binary,
          });
          return r.stdout.trim() === '10.12.0.1 10.12.0.2';
        },
        { what: `${name} announced on both nodes`, timeoutMs: 20_000 },
      );
      t.regex(
        await run(t, binary, 'get', 'service', name),
        new RegExp(
          `^${name}\\s+LoadBalancer\\s+\\S+\\s+10\\.12\\.0\\.1,10\\.12\\.0\\.2\\s+${9000 + i}:3\\d{4}/TCP`,
          'm',
        ),
      );
      t.regex(await run(t, binary, 'describe', 'service', name), /LoadBalancer Ingress:\s+10\.12\.0\.1/);
      await run(t, binary, 'patch', 'service', name, '-p', '{"spec":{"type":"ClusterIP"}}');
      const spec = JSON.parse(await run(t, binary, 'get', 'service', name, '-o', 'jsonpath={.spec}')) as Record<
        string,
        unknown
      >;
      t.is(spec.type, 'ClusterIP');
      t.is(spec.allocateLoadBalancerNodePorts, undefined);
      await waitFor(
        async () => {
          const r = await bed.kubectl(['get', 'service', name, '-o', 'jsonpath={.status.loadBalancer.ingress}'], {
            binary,
          });
          return r.stdout.trim() === '';
        },
        { what: `${name}'s load-balancer status taken back`, timeoutMs: 20_000 },
      );
    },
  );
});
