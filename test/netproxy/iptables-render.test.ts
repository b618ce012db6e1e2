/** Structure of the rendered payload: names, partial syncs, stale chains, size limits. */
import test from 'ava';
import { ChangeTracker } from '../../netproxy/change-tracker.ts';
import { chains, externalChain, maxChainNameLength } from '../../netproxy/chain-names.ts';
import { IptablesModel } from '../../netproxy/iptables-model.ts';
import { emptyMemory, renderIptables, type RenderMemory } from '../../netproxy/iptables-renderer.ts';
import { remotePod, service, slice, stateOf, testConfig, thisNode } from './fixtures.ts';
import { generate, rng } from './generate.ts';

function tablesOf(model: IptablesModel): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const [name, t] of model.tables) {
    out[name] = Object.fromEntries([...t].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  return out;
}

test('chain names are deterministic, within 28 characters, and differ per port', (t) => {
  const a = externalChain('default/web:http/tcp');
  t.is(a, externalChain('default/web:http/tcp'));
  t.not(a, externalChain('default/web:http/udp'));
  t.true(a.length <= maxChainNameLength);
  t.regex(a, /^BOSUN-EXT-[A-Z2-7]{16}$/);
  const { payload } = renderIptables({
    state: stateOf(generate(300, 1).services, generate(300, 1).slices),
    config: testConfig,
    changed: 'all',
    memory: emptyMemory,
  });
  for (const m of payload.matchAll(/^:(\S+)/gm)) t.true(m[1]!.length <= maxChainNameLength, m[1]);
  t.false(payload.includes('KUBE-'));
});

test('partial syncs leave exactly what a full sync would, across 60 random changes', (t) => {
  const r = rng(7);
  const { services, slices } = generate(400, 3);
  const tracker = new ChangeTracker(thisNode.name);
  services.forEach((s) => tracker.onServiceUpdate(undefined, s));
  slices.forEach((s) => tracker.onEndpointSliceUpdate(undefined, s));
  let { state } = tracker.commit();
  let memory: RenderMemory = emptyMemory;
  const live = new IptablesModel();
  let first = renderIptables({ state, config: testConfig, changed: 'all', memory });
  live.restore(first.payload);
  memory = first.memory;
  let partialLines = 0;
  for (let step = 0; step < 60; step++) {
    const i = Math.floor(r() * services.length);
    const roll = r();
    if (roll < 0.4)
      tracker.onEndpointSliceUpdate(
        undefined,
        slice(`svc-${i}`, [remotePod(1 + Math.floor(r() * 200))], { ports: slices[i]!.ports! }),
      );
    else if (roll < 0.55) tracker.onEndpointSliceUpdate(undefined, slice(`svc-${i}`, [], { ports: slices[i]!.ports! }));
    else if (roll < 0.7) tracker.onServiceUpdate(services[i], undefined);
    else if (roll < 0.85) tracker.onServiceUpdate(undefined, services[i]);
    else {
      const moved = structuredClone(services[i]!);
      moved.spec.externalIPs = [`192.0.2.${Math.floor(r() * 250)}`];
      tracker.onServiceUpdate(undefined, moved);
    }
    const commit = tracker.commit();
    state = commit.state;
    const changed = new Set(commit.changes.flatMap((c) => [...c.previous, ...c.current].map((p) => p.key)));
    const partial = renderIptables({ state, config: testConfig, changed, memory });
    live.restore(partial.payload);
    memory = partial.memory;
    partialLines += partial.payload.split('\n').length;
    const fresh = new IptablesModel();
    fresh.restore(renderIptables({ state, config: testConfig, changed: 'all', memory: emptyMemory }).payload);
    t.deepEqual(tablesOf(live), tablesOf(fresh), `after step ${step}`);
  }
  const fullLines = first.payload.split('\n').length;
  t.true(
    partialLines / 60 < fullLines / 5,
    `partial payloads average ${partialLines / 60} lines vs ${fullLines} for a full one`,
  );
});

test('chains of deleted services are deleted; leftovers from an earlier run are deleted on the first sync', (t) => {
  const model = new IptablesModel();
  model.restore('*nat\n:BOSUN-SVC-OLDLEFTOVER00000 - [0:0]\n-A BOSUN-SVC-OLDLEFTOVER00000 -j RETURN\nCOMMIT\n');
  const np = { type: 'NodePort' as const, ports: [{ name: 'http', port: 80, nodePort: 30080 }] };
  const before = stateOf(
    [service('a', { clusterIP: '10.96.0.1' }), service('b', { clusterIP: '10.97.0.2', ...np })],
    [slice('a', [remotePod(6)]), slice('b', [remotePod(7)])],
  );
  const leftover: RenderMemory = { ...emptyMemory, natChains: new Set(['BOSUN-SVC-OLDLEFTOVER00000']) };
  const one = renderIptables({ state: before, config: testConfig, changed: 'all', memory: leftover });
  model.restore(one.payload);
  t.false(model.tables.get('nat')!.has('BOSUN-SVC-OLDLEFTOVER00000'));
  const after = stateOf([service('a', { clusterIP: '10.96.0.1' })], [slice('a', [remotePod(6)])]);
  const two = renderIptables({
    state: after,
    config: testConfig,
    changed: new Set(['default/b:http/tcp']),
    memory: one.memory,
  });
  model.restore(two.payload);
  const nat = [...model.tables.get('nat')!.keys()];
  t.false(nat.includes(externalChain('default/b:http/tcp')));
  t.false(
    nat.some((c) => c.startsWith('BOSUN-SVCS-10-97')),
    'empty dispatch chains go too',
  );
  t.true(two.deletedChains.includes(externalChain('default/b:http/tcp')));
});

test('after a failed partial restore, the next full render still deletes what that one was to delete', (t) => {
  const np = { type: 'NodePort' as const, ports: [{ name: 'http', port: 80, nodePort: 30080 }] };
  const model = new IptablesModel();
  const before = stateOf([service('b', { clusterIP: '10.97.0.2', ...np })], [slice('b', [remotePod(7)])]);
  const one = renderIptables({ state: before, config: testConfig, changed: 'all', memory: emptyMemory });
  model.restore(one.payload);
  const after = stateOf([], []);
  const failed = renderIptables({
    state: after,
    config: testConfig,
    changed: new Set(['default/b:http/tcp']),
    memory: one.memory,
  });
  t.true(failed.deletedChains.includes(externalChain('default/b:http/tcp')));
  // The restore of `failed` did not happen; a full render from memoryAfterFailure follows.
  const repair = renderIptables({
    state: after,
    config: testConfig,
    changed: 'all',
    memory: failed.memoryAfterFailure,
  });
  model.restore(repair.payload);
  t.false(model.tables.get('nat')!.has(externalChain('default/b:http/tcp')));
  t.false([...model.tables.get('nat')!.keys()].some((c) => c.startsWith('BOSUN-SVCS-10-97')));
});

test('a partial sync does not touch chains of unchanged services', (t) => {
  const state = stateOf(
    [service('a', { clusterIP: '10.96.0.1' }), service('b', { clusterIP: '10.100.0.2' })],
    [slice('a', [remotePod(6)]), slice('b', [remotePod(7)])],
  );
  const full = renderIptables({ state, config: testConfig, changed: 'all', memory: emptyMemory });
  const changedA = stateOf(
    [service('a', { clusterIP: '10.96.0.1' }), service('b', { clusterIP: '10.100.0.2' })],
    [slice('a', [remotePod(9)]), slice('b', [remotePod(7)])],
  );
  const partial = renderIptables({
    state: changedA,
    config: testConfig,
    changed: new Set(['default/a:http/tcp']),
    memory: full.memory,
  });
  t.true(partial.payload.includes(':BOSUN-SVCS-10-96-0 '), 'the dispatch chain holding the changed port');
  const same = renderIptables({
    state: changedA,
    config: testConfig,
    changed: new Set(['default/a:http/tcp']),
    memory: partial.memory,
  });
  t.false(same.full);
  t.deepEqual(
    same.payload.split('\n').filter((l) => l.startsWith(':')),
    [],
    'a port marked changed whose text is the same writes nothing',
  );
  const reused = renderIptables({
    state: changedA,
    config: testConfig,
    changed: new Set(['default/a:http/tcp']),
    memory: full.memory,
  });
  t.false(reused.full, 'rendering left the older memory as it was, so a partial render may still build on it');
  t.is(reused.payload, partial.payload, 'the same request gives the same payload');
  t.false(partial.payload.includes(':BOSUN-SVCS-10-100'), 'dispatch chains of unchanged services are kept');
  t.false(partial.payload.includes(`:${chains.services} `), 'an unchanged top-level chain is not rewritten');
  const added = stateOf(
    [
      service('a', { clusterIP: '10.96.0.1' }),
      service('b', { clusterIP: '10.100.0.2' }),
      service('c', { clusterIP: '10.101.0.3' }),
    ],
    [slice('a', [remotePod(9)]), slice('b', [remotePod(7)]), slice('c', [remotePod(8)])],
  );
  const withNew = renderIptables({
    state: added,
    config: testConfig,
    changed: new Set(['default/c:http/tcp']),
    memory: same.memory,
  });
  t.false(withNew.full);
  t.true(withNew.payload.includes(`:${chains.services} `), 'a new /16 changes the top-level chain, which is rewritten');
  t.true(withNew.payload.includes(':BOSUN-SVCS-10-101 ') && withNew.payload.includes(':BOSUN-SVCS-10-101-0 '));
});

test('an endpoint change rewrites only the chains holding that port', (t) => {
  const state = stateOf([service('a', { clusterIP: '10.96.0.1' })], [slice('a', [remotePod(6)])]);
  const full = renderIptables({ state, config: testConfig, changed: 'all', memory: emptyMemory });
  const moved = stateOf([service('a', { clusterIP: '10.96.0.1' })], [slice('a', [remotePod(7)])]);
  const partial = renderIptables({
    state: moved,
    config: testConfig,
    changed: new Set(['default/a:http/tcp']),
    memory: full.memory,
  });
  t.deepEqual(
    partial.payload.split('\n').filter((l) => l.startsWith(':')),
    [':BOSUN-SVCS-10-96-0 - [0:0]'],
  );
  const np = { type: 'NodePort' as const, ports: [{ name: 'http', port: 80, nodePort: 30080 }] };
  const fullNp = renderIptables({
    state: stateOf([service('a', { clusterIP: '10.96.0.1', ...np })], [slice('a', [remotePod(6)])]),
    config: testConfig,
    changed: 'all',
    memory: emptyMemory,
  });
  const movedNp = stateOf([service('a', { clusterIP: '10.96.0.1', ...np })], [slice('a', [remotePod(7)])]);
  const partialNp = renderIptables({
    state: movedNp,
    config: testConfig,
    changed: new Set(['default/a:http/tcp']),
    memory: fullNp.memory,
  });
  t.deepEqual(
    partialNp.payload
      .split('\n')
      .filter((l) => l.startsWith(':'))
      .sort(),
    [`:${externalChain('default/a:http/tcp')} - [0:0]`, ':BOSUN-SVCS-10-96-0 - [0:0]'],
  );
});

test('comments are dropped above 1000 endpoints', (t) => {
  const small = generate(100, 5);
  t.true(
    renderIptables({
      state: stateOf(small.services, small.slices),
      config: testConfig,
      changed: 'all',
      memory: emptyMemory,
    }).payload.includes('--comment'),
  );
  const big = generate(600, 5, 8);
  const result = renderIptables({
    state: stateOf(big.services, big.slices),
    config: testConfig,
    changed: 'all',
    memory: emptyMemory,
  });
  t.true(result.endpointCount > 1000);
  t.false(result.payload.includes('--comment'));
});

test('the canary chains are in every full payload, with one rule each', (t) => {
  const state = stateOf([service('a')], [slice('a', [remotePod(6)])]);
  const full = renderIptables({ state, config: testConfig, changed: 'all', memory: emptyMemory });
  t.is(
    full.payload
      .split('\n')
      .filter((l) => l === `-A ${chains.canary} -m comment --comment "bosun flush detector" -j RETURN`).length,
    2,
  );
  const again = renderIptables({ state, config: testConfig, changed: 'all', memory: full.memory });
  t.is(again.payload, full.payload, 'a full payload is written whole even when nothing changed');
});

test('a render never changes its input: two branches from one memory render as from fresh copies', (t) => {
  const { services, slices } = generate(300, 5);
  const tracker = new ChangeTracker(thisNode.name);
  services.forEach((s) => tracker.onServiceUpdate(undefined, s));
  slices.forEach((s) => tracker.onEndpointSliceUpdate(undefined, s));
  const base = tracker.commit().state;
  const full = renderIptables({ state: base, config: testConfig, changed: 'all', memory: emptyMemory });
  const snapshot = (m: RenderMemory) =>
    JSON.stringify({
      nat: [...m.natChains].sort(),
      filter: [...m.filterChains].sort(),
      text: [...m.chainText].sort(),
      comments: m.comments,
    });
  const before = snapshot(full.memory);
  const stateBefore = JSON.stringify([...base]);

  // One branch moves svc-3's endpoints; the other drops svc-7. Both start from `full.memory`.
  const branch = (edit: (tr: ChangeTracker) => void) => {
    const tr = new ChangeTracker(thisNode.name);
    services.forEach((s) => tr.onServiceUpdate(undefined, s));
    slices.forEach((s) => tr.onEndpointSliceUpdate(undefined, s));
    tr.commit();
    edit(tr);
    const commit = tr.commit();
    return {
      state: commit.state,
      changed: new Set(commit.changes.flatMap((c) => [...c.previous, ...c.current].map((p) => p.key))),
    };
  };
  const moved = branch((tr) =>
    tr.onEndpointSliceUpdate(undefined, slice('svc-3', [remotePod(201)], { ports: slices[3]!.ports! })),
  );
  const dropped = branch((tr) => tr.onServiceUpdate(services[7], undefined));
  const first = renderIptables({ state: moved.state, config: testConfig, changed: moved.changed, memory: full.memory });
  const second = renderIptables({
    state: dropped.state,
    config: testConfig,
    changed: dropped.changed,
    memory: full.memory,
  });
  const fresh = renderIptables({ state: base, config: testConfig, changed: 'all', memory: emptyMemory });
  const reference = renderIptables({
    state: dropped.state,
    config: testConfig,
    changed: dropped.changed,
    memory: fresh.memory,
  });

  t.false(first.full);
  t.false(second.full, 'the second branch is partial too');
  t.is(second.payload, reference.payload, 'the first branch left nothing behind in the memory');
  t.is(snapshot(full.memory), before, 'chain sets and texts of the memory are unchanged');
  t.is(JSON.stringify([...base]), stateBefore, 'the state is unchanged');
});
