/**
 * Thousands of generated services in nftables mode, each traced from a pod to its cluster IP and
 * from off-cluster to its node port, against the oracle computed from the API objects alone
 * (generate.ts); and a run of random partial syncs that must leave what a full sync writes.
 */
import test from 'ava';
import { ChangeTracker } from '../../netproxy/change-tracker.ts';
import { NftModel } from '../../netproxy/nftables-model.ts';
import { emptyNftMemory, renderNftables } from '../../netproxy/nftables-renderer.ts';
import { traceNftPacket } from '../../netproxy/nftables-tracer.ts';
import { landing } from '../../netproxy/tracer.ts';
import { offClusterClient, slice, stateOf, testConfig, thisNode, traceContext } from './fixtures.ts';
import { expected, generate, rng, sameLanding } from './generate.ts';
import { nftModelOf } from './nft-harness.ts';

test('nftables: 2,000 generated services land where the API objects say', (t) => {
  const { services, slices } = generate(2000, 11);
  const model = nftModelOf(stateOf(services, slices));
  const failures: string[] = [];
  let nodePorts = 0;
  services.forEach((svc, i) => {
    const sl = slices[i]!;
    const p = svc.spec.ports![0]!;
    const protocol = p.protocol === 'UDP' ? ('udp' as const) : ('tcp' as const);
    const fromPod = traceNftPacket(
      model,
      { src: '10.244.1.250', dst: svc.spec.clusterIP!, protocol, dport: p.port },
      'forwarded',
      traceContext,
    );
    if (!sameLanding(landing(fromPod), expected(svc, sl, false)))
      failures.push(`${svc.metadata.name} cluster IP: ${JSON.stringify([...landing(fromPod)])}`);
    if (p.nodePort === undefined) return;
    nodePorts++;
    const out = traceNftPacket(
      model,
      { src: offClusterClient, dst: thisNode.ip, protocol, dport: p.nodePort },
      'forwarded',
      traceContext,
    );
    if (!sameLanding(landing(out), expected(svc, sl, true)))
      failures.push(`${svc.metadata.name} node port: ${JSON.stringify([...landing(out)])}`);
    for (const o of out)
      if (o.endpoint !== undefined && o.masqueraded !== (svc.spec.externalTrafficPolicy !== 'Local'))
        failures.push(`${svc.metadata.name} masquerade ${o.masqueraded}`);
  });
  t.deepEqual(failures.slice(0, 5), []);
  t.true(nodePorts > 250, `covered ${nodePorts} node ports`);
});

test('nftables: 300 random partial syncs leave exactly what a full sync writes', (t) => {
  const { services, slices } = generate(400, 5);
  const tracker = new ChangeTracker(thisNode.name);
  for (const s of services) tracker.onServiceUpdate(undefined, s);
  for (const s of slices) tracker.onEndpointSliceUpdate(undefined, s);
  const model = new NftModel();
  let commit = tracker.commit();
  let r = renderNftables({ state: commit.state, config: testConfig, changed: 'all', memory: emptyNftMemory });
  model.apply(r.transaction);
  const random = rng(99);
  const current = [...slices];
  const live = new Set(services.map((_, i) => i));
  for (let step = 0; step < 300; step++) {
    const i = Math.floor(random() * services.length);
    const choice = random();
    if (choice < 0.15 && live.has(i)) {
      tracker.onServiceUpdate(services[i], undefined);
      live.delete(i);
    } else if (choice < 0.3 && !live.has(i)) {
      tracker.onServiceUpdate(undefined, services[i]);
      live.add(i);
    } else {
      // Replace the endpoints: some of another service's (shared pods), some new.
      const donor = current[Math.floor(random() * current.length)]!;
      const eps = [
        ...(donor.endpoints ?? []).slice(0, 2),
        { addresses: [`10.244.1.${100 + (step % 100)}`], nodeName: thisNode.name },
      ];
      const next = slice(services[i]!.metadata.name!, [], { ports: current[i]!.ports! });
      next.endpoints = [...new Map(eps.map((e) => [e.addresses[0], e])).values()];
      tracker.onEndpointSliceUpdate(current[i], next);
      current[i] = next;
    }
    commit = tracker.commit();
    const changed = new Set(commit.changes.flatMap((c) => [...c.previous, ...c.current].map((p) => p.key)));
    r = renderNftables({ state: commit.state, config: testConfig, changed, memory: r.memory });
    model.apply(r.transaction);
  }
  const full = new NftModel();
  full.apply(
    renderNftables({ state: commit.state, config: testConfig, changed: 'all', memory: emptyNftMemory }).transaction,
  );
  const text = (m: NftModel) => {
    const table = m.tables.get('ip bosun-proxy')!;
    return [
      ...[...table.chains].map(([c, v]) => `${c}: ${v.rules.join(' | ')}`),
      ...[...table.sets].map(([s, v]) => `${s}: ${[...(v.verdicts ?? v.elements)].sort().join(', ')}`),
    ].sort();
  };
  t.deepEqual(text(model), text(full));
});
