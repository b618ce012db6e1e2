/** Backend detection on the real iptables tools, inside namespaces the test creates. */
import test from 'ava';
import { ProxyError, ProxyErrorCode } from '../../../netproxy/errors.ts';
import { detectBackend } from '../../../netproxy/iptables-backend.ts';
import { Lab, labUnavailable } from './lab.ts';

const unavailable = labUnavailable();
const lab = new Lab();
test.after.always(() => lab.destroy());

if (unavailable !== undefined) {
  process.stdout.write(`  - SKIP real backend detection: ${unavailable}\n`);
  test.skip(`backend detection on real iptables — skipped: ${unavailable}`, () => {});
} else {
  test('an empty namespace uses nf_tables; legacy-only rules select legacy; rules in both are refused', async (t) => {
    const empty = await lab.namespace('be');
    t.is((await detectBackend(lab.runner(empty))).kind, 'nf_tables');

    const legacy = await lab.namespace('bl');
    const add = await lab.inNs(legacy, ['iptables-legacy', '-w', '-A', 'INPUT', '-s', '192.0.2.1/32', '-j', 'ACCEPT']);
    t.is(add.code, 0, add.stderr);
    t.is((await detectBackend(lab.runner(legacy))).kind, 'legacy');

    const both = await lab.namespace('bb');
    for (const tool of ['iptables-legacy', 'iptables-nft']) {
      const r = await lab.inNs(both, [tool, '-w', '-A', 'INPUT', '-s', '192.0.2.1/32', '-j', 'ACCEPT']);
      t.is(r.code, 0, `${tool}: ${r.stderr}`);
    }
    const err = await t.throwsAsync(detectBackend(lab.runner(both)), { instanceOf: ProxyError });
    t.is(err?.code, ProxyErrorCode.mixedBackends);
    t.regex(err?.message ?? '', /nf_tables: 1 rules, legacy: 1 rules/);
  });
}
