/**
 * Thousands of generated services, each traced from a pod to its cluster IP and from off-cluster
 * to its node port, against an oracle computed from the API objects alone.
 */
import test from 'ava';
import type { EndpointSlice, Service } from '../../netproxy/kubeShapes.ts';
import { landing, tracePacket } from '../../netproxy/tracer.ts';
import { modelOf, offClusterClient, stateOf, thisNode, traceContext } from './fixtures.ts';
import { generate } from './generate.ts';

function expected(svc: Service, sl: EndpointSlice, external: boolean): Map<string, number> {
  const port = sl.ports![0]!.port!;
  const eps = (sl.endpoints ?? []).map((e) => ({
    address: `${e.addresses[0]}:${port}`,
    local: e.nodeName === thisNode.name,
    ready: e.conditions?.ready ?? true,
    servingTerminating: (e.conditions?.serving ?? true) && (e.conditions?.terminating ?? false),
  }));
  const usable = (list: typeof eps) => (list.some((e) => e.ready) ? list.filter((e) => e.ready) : list.filter((e) => e.servingTerminating));
  const all = usable(eps);
  const localOnly = external ? svc.spec.externalTrafficPolicy === 'Local' : svc.spec.internalTrafficPolicy === 'Local';
  const chosen = localOnly ? usable(eps.filter((e) => e.local)) : all;
  if (chosen.length === 0) return new Map([[all.length === 0 ? 'REJECT' : 'DROP', 1]]);
  return new Map(chosen.map((e) => [e.address, 1 / chosen.length]));
}

function same(got: Map<string, number>, want: Map<string, number>): boolean {
  if (got.size !== want.size) return false;
  for (const [k, v] of want) if (Math.abs((got.get(k) ?? -1) - v) > 1e-9) return false;
  return true;
}

test('3,000 generated services: every cluster IP and node port lands where the API objects say', (t) => {
  const { services, slices } = generate(3000, 11);
  const model = modelOf(stateOf(services, slices));
  let nodePorts = 0;
  let masqueradeChecked = 0;
  const failures: string[] = [];
  services.forEach((svc, i) => {
    const sl = slices[i]!;
    const p = svc.spec.ports![0]!;
    const protocol = p.protocol === 'UDP' ? 'udp' as const : 'tcp' as const;
    const fromPod = tracePacket(model, { src: '10.244.1.250', dst: svc.spec.clusterIP!, protocol, dport: p.port }, 'forwarded', traceContext);
    if (!same(landing(fromPod), expected(svc, sl, false))) failures.push(`${svc.metadata.name} cluster IP: ${JSON.stringify([...landing(fromPod)])}`);
    if (p.nodePort !== undefined) {
      nodePorts++;
      const out = tracePacket(model, { src: offClusterClient, dst: thisNode.ip, protocol, dport: p.nodePort }, 'forwarded', traceContext);
      const want = expected(svc, sl, true);
      if (!same(landing(out), want)) failures.push(`${svc.metadata.name} node port: ${JSON.stringify([...landing(out)])}`);
      for (const o of out) {
        if (o.endpoint === undefined) continue;
        masqueradeChecked++;
        if (o.masqueraded !== (svc.spec.externalTrafficPolicy !== 'Local')) failures.push(`${svc.metadata.name} masquerade ${o.masqueraded}`);
      }
    }
  });
  t.deepEqual(failures.slice(0, 5), []);
  t.true(nodePorts > 400 && masqueradeChecked > 400, `covered ${nodePorts} node ports, ${masqueradeChecked} masquerade checks`);
});
