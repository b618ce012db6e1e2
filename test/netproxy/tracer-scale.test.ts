/**
 * Thousands of generated services, each traced from a pod to its cluster IP and from off-cluster
 * to its node port, against an oracle computed from the API objects alone.
 */
import test from 'ava';
import { landing, tracePacket, type TraceContext } from '../../netproxy/tracer.ts';
import type { IptablesModel } from '../../netproxy/iptables-model.ts';
import { modelOf, offClusterClient, stateOf, thisNode, traceContext } from './fixtures.ts';
import { expected, generate, sameLanding, type Generated } from './generate.ts';
import { ipvsSetup } from './ipvs-harness.ts';

function checkAll(
  t: import('ava').ExecutionContext,
  { services, slices }: Generated,
  model: IptablesModel,
  ctx: TraceContext,
) {
  let nodePorts = 0;
  let masqueradeChecked = 0;
  const failures: string[] = [];
  services.forEach((svc, i) => {
    const sl = slices[i]!;
    const p = svc.spec.ports![0]!;
    const protocol = p.protocol === 'UDP' ? ('udp' as const) : ('tcp' as const);
    const fromPod = tracePacket(
      model,
      { src: '10.244.1.250', dst: svc.spec.clusterIP!, protocol, dport: p.port },
      'forwarded',
      ctx,
    );
    if (!sameLanding(landing(fromPod), expected(svc, sl, false)))
      failures.push(`${svc.metadata.name} cluster IP: ${JSON.stringify([...landing(fromPod)])}`);
    if (p.nodePort !== undefined) {
      nodePorts++;
      const out = tracePacket(
        model,
        { src: offClusterClient, dst: thisNode.ip, protocol, dport: p.nodePort },
        'forwarded',
        ctx,
      );
      if (!sameLanding(landing(out), expected(svc, sl, true)))
        failures.push(`${svc.metadata.name} node port: ${JSON.stringify([...landing(out)])}`);
      for (const o of out) {
        if (o.endpoint === undefined) continue;
        masqueradeChecked++;
        if (o.masqueraded !== (svc.spec.externalTrafficPolicy !== 'Local'))
          failures.push(`${svc.metadata.name} masquerade ${o.masqueraded}`);
      }
    }
  });
  t.deepEqual(failures.slice(0, 5), []);
  t.true(
    nodePorts > 250 && masqueradeChecked > 250,
    `covered ${nodePorts} node ports, ${masqueradeChecked} masquerade checks`,
  );
}

test('iptables: 3,000 generated services land where the API objects say', (t) => {
  const generated = generate(3000, 11);
  checkAll(t, generated, modelOf(stateOf(generated.services, generated.slices)), traceContext);
});

test('IPVS: 2,000 generated services land where the API objects say', (t) => {
  const generated = generate(2000, 12);
  const { model, context } = ipvsSetup(stateOf(generated.services, generated.slices));
  checkAll(t, generated, model, context);
});
