/** The nftables renderer's own guarantees, beyond what packets show (see nftables-behaviour). */
import test from 'ava';
import { NftModel } from '../../netproxy/nftables-model.ts';
import { emptyNftMemory, renderNftables } from '../../netproxy/nftables-renderer.ts';
import type { ServicePortState } from '../../netproxy/service-port.ts';
import { remotePod, service, slice, stateOf, testConfig } from './fixtures.ts';
import { landsNft } from './nft-harness.ts';

test('a name that is not a plain nft identifier never reaches the transaction: the chain keeps only its hash', (t) => {
  const [clean] = stateOf([service('web')], [slice('web', [remotePod(6)])]).values();
  // What the sanitizer refuses, as if it had slipped through: the renderer refuses it again.
  const hostile: ServicePortState = {
    ...clean!,
    key: 'default/web:x ; flush ruleset ; add/tcp',
    service: 'default/web ; flush ruleset',
    portName: 'x ; flush ruleset',
    nodePort: 30080, // its own chain, named after the port
  };
  const { transaction } = renderNftables({
    state: new Map([[hostile.key, hostile]]),
    config: testConfig,
    changed: 'all',
    memory: emptyNftMemory,
  });
  t.false(transaction.includes('flush ruleset'), transaction);
  t.regex(transaction, /add chain ip bosun-proxy external-[A-Z2-7]{16}\n/);
  const model = new NftModel();
  model.apply(transaction);
  t.deepEqual(landsNft(model, { src: '10.244.1.9', dst: '10.96.0.10', protocol: 'tcp', dport: 80 }), [
    [`${remotePod(6)}:8080`, 1],
  ]);
});

test('a partial sync with nothing to change writes nothing', (t) => {
  const state = stateOf([service('web')], [slice('web', [remotePod(6)])]);
  const full = renderNftables({ state, config: testConfig, changed: 'all', memory: emptyNftMemory });
  const again = renderNftables({ state, config: testConfig, changed: new Set(state.keys()), memory: full.memory });
  t.false(again.full);
  t.is(again.transaction, '');
});

test("a replaced pod's partial sync holds only that service's endpoint elements: no rule, no other service", (t) => {
  const services = [
    service('web'),
    service('neighbour', { clusterIP: '10.96.0.11' }), // same /20 as web
    service('far', { clusterIP: '10.96.32.20' }),
  ];
  const before = stateOf(services, [
    slice('web', [remotePod(6), remotePod(7)]),
    slice('neighbour', [remotePod(8), remotePod(9)]),
    slice('far', [remotePod(10)]),
  ]);
  const after = stateOf(services, [
    slice('web', [remotePod(6), remotePod(5)]),
    slice('neighbour', [remotePod(8), remotePod(9)]),
    slice('far', [remotePod(10)]),
  ]);
  const full = renderNftables({ state: before, config: testConfig, changed: 'all', memory: emptyNftMemory });
  const changed = new Set([...after.keys()].filter((k) => k.startsWith('default/web')));
  const partial = renderNftables({ state: after, config: testConfig, changed, memory: full.memory });
  t.false(partial.full);
  const lines = partial.transaction.split('\n').filter((l) => l !== '');
  t.true(
    lines.every((l) => /^(add|delete) element /.test(l)),
    `elements only, no rule or chain:\n${partial.transaction}`,
  );
  for (const other of ['10.96.0.11', '10.96.32.20', remotePod(8), remotePod(9), remotePod(10)])
    t.false(partial.transaction.includes(other), `${other} is not touched:\n${partial.transaction}`);
  t.true(partial.transaction.includes(remotePod(5)));

  const model = new NftModel();
  model.apply(full.transaction);
  model.apply(partial.transaction);
  t.deepEqual(landsNft(model, { src: '10.244.1.9', dst: '10.96.0.10', protocol: 'tcp', dport: 80 }), [
    [`${remotePod(5)}:8080`, 0.5],
    [`${remotePod(6)}:8080`, 0.5],
  ]);
});
