/**
 * The nftables backend through the ServiceProxy, against a stateful fake of nft: partial syncs
 * touch only what changed and leave what a full sync would; failures are retried in full; a
 * switch from iptables mode removes the old rules. Packets are checked with the nftables tracer.
 */
import test from 'ava';
import { hookRules } from '../../netproxy/chain-names.ts';
import { insertHooks } from '../../netproxy/hooks.ts';
import { backends } from '../../netproxy/iptables-backend.ts';
import { emptyMemory, renderIptables } from '../../netproxy/iptables-renderer.ts';
import { iptablesCleanupPayload } from '../../netproxy/mode-cleanup.ts';
import { nftCommand } from '../../netproxy/nftables-applier.ts';
import { NftModel } from '../../netproxy/nftables-model.ts';
import { ServiceProxy } from '../../netproxy/service-proxy.ts';
import { localPod, remotePod, service, slice, stateOf, testConfig, thisNode } from './fixtures.ts';
import { FakeNft } from './fake-nft.ts';
import { landsNft } from './nft-harness.ts';

function proxyOn(nft: FakeNft) {
  return new ServiceProxy({
    nodeName: thisNode.name,
    runner: nft,
    config: testConfig,
    mode: 'nftables',
    backend: backends.nf_tables,
  });
}

const toWeb = (model: NftModel) => landsNft(model, { src: localPod(9), dst: '10.96.0.10', protocol: 'tcp', dport: 80 });

/** The table's state as comparable text. */
function dump(model: NftModel): string {
  const t = model.tables.get('ip bosun-proxy');
  if (t === undefined) return '';
  const chains = [...t.chains].map(([c, v]) => `${c}: ${v.rules.join(' | ')}`).sort();
  const sets = [...t.sets].map(([s, v]) => `${s}: ${[...(v.verdicts ?? v.elements)].sort().join(', ')}`).sort();
  return [...chains, ...sets].join('\n');
}

test("first sync is full; a replaced pod is a partial sync that changes only that service's map elements", async (t) => {
  const nft = new FakeNft();
  const proxy = proxyOn(nft);
  proxy.onServiceUpdate(undefined, service('web'));
  proxy.onServiceUpdate(undefined, service('other', { clusterIP: '10.96.32.20' })); // another /20
  const webSlice = slice('web', [remotePod(6)]);
  proxy.onEndpointSliceUpdate(undefined, webSlice);
  proxy.onEndpointSliceUpdate(undefined, slice('other', [remotePod(8)]));
  const first = await proxy.sync();
  t.true(first.ok && first.full, first.error);
  t.deepEqual(toWeb(nft.model), [[`${remotePod(6)}:8080`, 1]]);

  proxy.onEndpointSliceUpdate(webSlice, slice('web', [remotePod(7)]));
  const second = await proxy.sync();
  t.true(second.ok && !second.full, second.error);
  t.deepEqual(toWeb(nft.model), [[`${remotePod(7)}:8080`, 1]]);
  const partial = nft.transactions.at(-1)!;
  t.false(partial.includes('flush table'), 'a partial sync flushes no table');
  t.false(partial.includes('default/other'), 'the unchanged service is not touched');
  t.false(partial.includes('10.96.32.'), 'nor its /20 chain');
  t.false(/add rule|flush chain/.test(partial), `a replaced pod changes map elements only:\n${partial}`);
  t.regex(partial, /add element ip bosun-proxy endpoints-tcp-10\.96\.0\.0\/20 \{ 10\.96\.0\.10 \. 80 \. 0 : /);

  // What the partial sync left is what a full sync writes.
  const afterPartial = dump(nft.model);
  proxy.requestFullSync();
  t.true((await proxy.sync()).full);
  t.is(dump(nft.model), afterPartial);
  t.true(nft.transactions.at(-1)!.includes('flush table ip bosun-proxy'));
});

test('a service that loses its endpoints moves from the service map to the reject map, and back', async (t) => {
  const nft = new FakeNft();
  const proxy = proxyOn(nft);
  proxy.onServiceUpdate(undefined, service('web'));
  const withEndpoint = slice('web', [localPod(5)]);
  proxy.onEndpointSliceUpdate(undefined, withEndpoint);
  t.true((await proxy.sync()).ok);
  const empty = slice('web', []);
  proxy.onEndpointSliceUpdate(withEndpoint, empty);
  const r = await proxy.sync();
  t.true(r.ok && !r.full, r.error);
  t.deepEqual(toWeb(nft.model), [['REJECT', 1]]);
  const t1 = nft.model.tables.get('ip bosun-proxy')!;
  t.false(
    [...t1.chains.keys()].some((c) => c.includes('default/web')),
    'its chain is deleted',
  );
  t.deepEqual([...t1.sets.get('hairpin')!.elements], [], 'its hairpin pair is gone');
  proxy.onEndpointSliceUpdate(empty, withEndpoint);
  t.true((await proxy.sync()).ok);
  t.deepEqual(toWeb(nft.model), [[`${localPod(5)}:8080`, 1]]);
  proxy.onServiceUpdate(service('web'), undefined);
  t.true((await proxy.sync()).ok);
  t.deepEqual(toWeb(nft.model), [['ACCEPT', 1]], 'a deleted service leaves nothing behind');
});

test('a refused transaction changes nothing, is reported, and the retry is a full sync from an empty table', async (t) => {
  const nft = new FakeNft();
  const proxy = proxyOn(nft);
  proxy.onServiceUpdate(undefined, service('web'));
  const first = slice('web', [remotePod(6)]);
  proxy.onEndpointSliceUpdate(undefined, first);
  t.true((await proxy.sync()).ok);
  nft.failNext();
  proxy.onEndpointSliceUpdate(first, slice('web', [remotePod(7)]));
  const failed = await proxy.sync();
  t.false(failed.ok);
  t.regex(failed.error ?? '', /nft -f failed \(exit 1\)/);
  t.is(proxy.metrics.restoreFailures.value, 1);
  t.deepEqual(toWeb(nft.model), [[`${remotePod(6)}:8080`, 1]], 'the kernel keeps the old rules');
  const retry = await proxy.sync();
  t.true(retry.ok && retry.full, retry.error);
  t.true(nft.transactions.at(-1)!.includes('delete table ip bosun-proxy'));
  t.deepEqual(toWeb(nft.model), [[`${remotePod(7)}:8080`, 1]]);
});

test('the canary notices a flushed ruleset and a full sync repairs it', async (t) => {
  const nft = new FakeNft();
  const proxy = new ServiceProxy({
    nodeName: thisNode.name,
    runner: nft,
    config: testConfig,
    mode: 'nftables',
    backend: backends.nf_tables,
    canaryPeriodMs: 20,
  });
  proxy.onServiceUpdate(undefined, service('web'));
  proxy.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6)]));
  const stop = new AbortController();
  const run = proxy.run(stop.signal);
  try {
    await proxy.ready;
    const fullSyncs = proxy.metrics.fullSyncDuration.count;
    nft.model.tables.clear(); // `nft flush ruleset`
    const deadline = Date.now() + 5000;
    while (toWeb(nft.model)[0]?.[0] !== `${remotePod(6)}:8080`) {
      if (Date.now() > deadline) throw new Error('the table was never repaired');
      await new Promise((r) => setTimeout(r, 10));
    }
    t.true(proxy.metrics.fullSyncDuration.count > fullSyncs);
  } finally {
    stop.abort();
    await run;
  }
});

test('switching from iptables mode removes our iptables hooks and chains, and nothing else', async (t) => {
  const nft = new FakeNft();
  const iptables = nft.host.nft;
  iptables.command('filter', '-A INPUT -j ACCEPT'); // someone else's rule stays
  const state = stateOf([service('web')], [slice('web', [remotePod(6)])]);
  iptables.restore(
    insertHooks(renderIptables({ state, config: testConfig, changed: 'all', memory: emptyMemory }).payload, hookRules),
  );
  t.true(iptables.save().includes('BOSUN-'));
  const proxy = proxyOn(nft);
  proxy.onServiceUpdate(undefined, service('web'));
  proxy.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6)]));
  t.true((await proxy.sync()).ok);
  t.false(iptables.save().includes('BOSUN-'), iptables.save());
  t.true(iptables.tables.get('filter')!.get('INPUT')!.includes('-j ACCEPT'));
  t.is(iptablesCleanupPayload(iptables.save()), '', 'nothing of ours is left to remove');
});

test('switching to iptables mode deletes our nftables table', async (t) => {
  const nft = new FakeNft();
  const first = proxyOn(nft);
  first.onServiceUpdate(undefined, service('web'));
  t.true((await first.sync()).ok);
  t.true(nft.model.tables.has('ip bosun-proxy'));
  const iptables = new ServiceProxy({
    nodeName: thisNode.name,
    runner: nft,
    config: testConfig,
    backend: backends.nf_tables,
  });
  iptables.onServiceUpdate(undefined, service('web'));
  t.true((await iptables.sync()).ok);
  t.false(nft.model.tables.has('ip bosun-proxy'));
});

test('nft is run by its absolute path, never whatever `nft` comes first on PATH', (t) => {
  t.is(
    nftCommand((p) => p === '/usr/sbin/nft'),
    '/usr/sbin/nft',
  );
  t.is(
    nftCommand((p) => p === '/sbin/nft'),
    '/sbin/nft',
  );
});

test('hostile fields never reach the nft transaction; good services still route', async (t) => {
  const nft = new FakeNft();
  const proxy = proxyOn(nft);
  const injected = 'flush ruleset';
  const hostile = [
    service('quote', { clusterIP: '10.96.0.21', ports: [{ name: `x\n${injected}\n#`, port: 80, protocol: 'TCP' }] }),
    service('badip', { clusterIP: '1.2.3.4; flush ruleset', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
    service('ext', { clusterIP: '10.96.0.25', externalIPs: ['1.2.3.4 } ; flush ruleset', '192.0.2.9'] }),
    service('bad}name', { clusterIP: '10.96.0.26' }),
    // source ranges a namespace admin writes: none usable, so the load-balancer IP admits nobody
    service('fw', {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.27',
      lbIPs: ['192.0.2.31'],
      sourceRanges: ['203.0.113.0/28 } accept ; flush ruleset', '"203.0.113.0/28"', '../../etc', 'x'.repeat(1 << 20)],
    }),
  ];
  for (const s of hostile) proxy.onServiceUpdate(undefined, s);
  proxy.onEndpointSliceUpdate(undefined, slice('ext', [remotePod(21), '10.244.2.22 } ; flush ruleset']));
  proxy.onEndpointSliceUpdate(undefined, slice('fw', [remotePod(23)]));
  proxy.onServiceUpdate(undefined, service('web'));
  proxy.onEndpointSliceUpdate(undefined, slice('web', [remotePod(6)]));
  const report = await proxy.sync();
  t.true(report.ok, report.error);
  const all = nft.transactions.join('\n');
  t.false(all.includes(injected), 'no object text ends a command and starts another');
  t.false(all.includes('}  ;'));
  t.deepEqual(toWeb(nft.model), [[`${remotePod(6)}:8080`, 1]]);
  const ext = landsNft(nft.model, { src: localPod(9), dst: '192.0.2.9', protocol: 'tcp', dport: 80 });
  t.deepEqual(ext, [[`${remotePod(21)}:8080`, 1]], 'the good parts of a partly hostile service still sync');
  t.false(all.includes('xxxxxxxx'), 'a 1 MB range never reaches the transaction');
  const fenced = landsNft(nft.model, { src: '203.0.113.5', dst: '192.0.2.31', protocol: 'tcp', dport: 80 });
  t.deepEqual(fenced, [['DROP', 1]], 'unusable source ranges close the load-balancer IP, never open it');
});
