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
